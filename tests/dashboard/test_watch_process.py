"""`tokbridge watch` as a real process serves the dashboard; the token from its environment is asked for
behind a proxy and never printed."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx

from engine.http.tls import tls_context
from engine.views.dashboard_web import TOKEN_ENV
from tests.e2e.world import make_world
from tests.forked import popen_tokbridge
from tests.watch.conftest import converge, wait_for

REPO = Path(__file__).resolve().parents[2]
TOKEN = "process-token-" + "q" * 30


def test_watch_serves_the_dashboard_and_keeps_its_token_quiet(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=4) as world:
        converge(world)
        log_path = tmp_path / "watch.log"
        env = {**os.environ, TOKEN_ENV: TOKEN}
        log_path.write_text("")
        # A process of its own, forked with the engine imported (tests/forked.py); stdout and stderr in one log.
        process = popen_tokbridge(["watch", "--config", str(world.root), "--port", "0"], env=env, cwd=REPO,
                                  stdout=log_path, stderr=log_path)
        try:
            found = wait_for(lambda: re.search(r"listening for webhooks on (http://127\.0\.0\.1:\d+)",
                                               log_path.read_text()), what="the receiver's address")
            url = f"{found.group(1)}/dashboard"
            page = httpx.get(f"{url}/listings?view=live", verify=tls_context())
            assert page.status_code == 200 and "<h1>Listings</h1>" in page.text and 'id="product-' in page.text
            forwarded = {"X-Forwarded-For": "203.0.113.9"}
            assert httpx.get(url, headers=forwarded, verify=tls_context()).status_code == 401
            assert httpx.get(url, headers={**forwarded, "Authorization": f"Bearer {TOKEN}"},
                             verify=tls_context()).status_code == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
        output = log_path.read_text()
        assert "/dashboard" in output and TOKEN not in output
