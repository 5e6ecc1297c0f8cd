"""`connect` with a wrong app id: the consent page never redirects back; tokbridge stops waiting and says why."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[2]
TOKBRIDGE = [sys.executable, "-c", "from cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connect_ecwid_with_a_wrong_client_id_times_out_and_says_what_to_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
    env["PYTHONPATH"] = str(REPO)
    subprocess.run([*TOKBRIDGE, "init", "shop"], cwd=tmp_path, env=env, check=True, capture_output=True)
    secrets = tmp_path / "shop" / ".tokbridge" / "secrets"
    secrets.write_text(secrets.read_text().replace("ECWID_CLIENT_SECRET=replace-me", "ECWID_CLIENT_SECRET=s3cret"))
    port = _free_port()
    started = time.monotonic()
    done = subprocess.run([*TOKBRIDGE, "connect", "ecwid", "shop", "--client-id", "not-my-app", "--timeout", "1",
                           "--callback-port", str(port)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "Open this address in a browser and approve tokbridge:"
    assert "client_id=not-my-app" in lines[1]
    assert lines[2] == "Waiting up to 1 s for the redirect back to this computer (Ctrl-C to stop)..."
    redirect = f"http://127.0.0.1:{port}/callback"
    assert done.stderr == (
        f"Error: no authorization arrived at {redirect} within 1 s: the consent page was not approved, or could not "
        "send you back here. Check the client id (--client-id or ECWID_CLIENT_ID: Ecwid app settings > client_id) "
        f"and that the app's redirect URL is {redirect}; run connect again (--timeout to wait longer), or pass "
        "--code\n")


def test_both_connects_wait_five_minutes_by_default() -> None:
    from cli import main

    group = main.commands["connect"]
    assert isinstance(group, click.Group)
    for side in ("ecwid", "tiktok"):
        timeout = next(p for p in group.commands[side].params if p.name == "timeout")
        assert timeout.default == 300.0
