"""`tokbridge watch` as a real process serves the dashboard; the token from its environment is asked for
behind a proxy and never printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from engine.views.dashboard_web import TOKEN_ENV
from tests.e2e.world import make_world
from tests.watch.conftest import converge, wait_for

REPO = Path(__file__).resolve().parents[2]
TOKEN = "process-token-" + "q" * 30


def test_watch_serves_the_dashboard_and_keeps_its_token_quiet(tmp_path: Path) -> None:
    with make_world(tmp_path / "shop", n_products=4) as world:
        converge(world)
        log_path = tmp_path / "watch.log"
        env = {**os.environ, TOKEN_ENV: TOKEN}
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "watch", "--config", str(world.root),
                 "--port", "0"], cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                found = wait_for(lambda: re.search(r"listening for webhooks on (http://127\.0\.0\.1:\d+)",
                                                   log_path.read_text()), what="the receiver's address")
                url = f"{found.group(1)}/dashboard"
                page = httpx.get(f"{url}/listings?view=live")
                assert page.status_code == 200 and "<h1>Listings</h1>" in page.text and 'id="product-' in page.text
                forwarded = {"X-Forwarded-For": "203.0.113.9"}
                assert httpx.get(url, headers=forwarded).status_code == 401
                assert httpx.get(url, headers={**forwarded, "Authorization": f"Bearer {TOKEN}"}).status_code == 200
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            finally:
                if process.poll() is None:
                    process.kill()
        output = log_path.read_text()
        assert "/dashboard" in output and TOKEN not in output
