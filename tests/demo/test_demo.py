"""`tokbridge demo` and `tokbridge sandbox` as a merchant runs them: real processes (the one-shot commands forked
with the engine imported, tests/forked.py), real sockets on 127.0.0.1.

The demo's narrative is part of the contract (the README promises it), so its key lines are
asserted word for word. The sandbox is started as a process, its printed URLs awaited with a
deadline, then the config dir it wrote is validated, planned and applied by further processes.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from rich.console import Console

from cli import main
from engine.demo import run_demo
from engine.sandbox.seed import generate_catalog
from tests.forked import run_tokbridge

REPO = Path(__file__).resolve().parents[2]
TOKBRIDGE = [sys.executable, "-c", "from cli import main; main()"]
# Wide enough that rich never wraps a narrative line (a terminal would, a pipe gets 80 columns).
ENV = {**os.environ, "COLUMNS": "240", "NO_COLOR": "1"}
STARTUP_DEADLINE = 60.0


def tokbridge(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGS` in a process of its own, forked with the engine imported (tests/forked.py)."""
    return run_tokbridge(args, cwd=cwd, env=ENV, timeout=timeout)


@pytest.mark.slow
def test_the_demo_tells_the_whole_story_and_exits_0() -> None:
    done = tokbridge("demo", "--products", "60", "--keep")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    lines = out.splitlines()
    for line in (
        "shop: valid (2 selling policies, 10 category rule(s))",
        # The seed's 100x100 image is blocked in plan (Ecwid reports its size), so nothing fails in apply.
        "Plan: 54 to create, 0 to update, 0 to stop or delete, 2 blocked; 54 trigger review.",
        "Apply complete: 54 actions done, 0 failed.",
        "  ! product 500000032: The listing contains prohibited content: replica.   # tiktok review",
        "    fix: Remove the prohibited words from the title and description; TikTok Shop does not allow these items.",
        "Plan: 0 to create, 1 to update, 0 to stop or delete, 0 blocked; 1 triggers review.",
        "  FAILED                1",
        "Orders: 1 done, 0 failed.",
    ):
        assert line in lines, f"{line!r} not in the demo's output:\n{out}"
    assert re.search(r"^Product 500000032 is live on TikTok: ACTIVATE \(TikTok product \d+\)\.$", out, re.M)
    assert re.search(r"^Ecwid order TB-\w+: PAID / AWAITING_PROCESSING, total \d+\.\d\d USD, for Jordan Rivera\.$",
                     out, re.M)
    assert re.search(r"^TikTok order \d+: IN_TRANSIT$", out, re.M)
    assert re.search(r"^TikTok order \d+: CANCELLED; the buyer is refunded by TikTok\.$", out, re.M)
    assert re.search(r"^Ecwid order TB-\w+: CANCELLED / WILL_NOT_DELIVER\.$", out, re.M)
    assert ("54 listings live on TikTok, 2 products need the merchant (`tokbridge status`), 2 TikTok orders in "
            "Ecwid: one in transit, one cancelled on both sides.") in lines
    # The steps come in the story's order.
    headings = [line for line in lines if re.match(r"^\d+\. ", line)]
    assert [h.split(" ─")[0] for h in headings] == [
        "1. Validate the config",
        "2. Plan: what would change on TikTok",
        "3. Apply: list the catalog on TikTok",
        "4. TikTok reviews the listings; one is rejected",
        "5. The merchant fixes the product in Ecwid; tokbridge resubmits it",
        "6. A buyer orders on TikTok; the order appears in Ecwid",
        "7. The merchant ships it in Ecwid; TikTok shows it in transit",
        "8. A cancellation flows back",
    ]
    kept = re.search(r"^Kept the config and state in (\S+) \(the sandboxes have stopped\)\.$", out, re.M)
    assert kept, out
    root = Path(kept.group(1))
    try:
        assert (root / "tokbridge.yaml").is_file() and (root / ".tokbridge" / "state.db").is_file()
        # The demo passes credentials as environment: nothing secret is left on disk.
        assert not (root / ".tokbridge" / "secrets").exists()
    finally:
        shutil.rmtree(root.parent)


def test_the_demo_cleans_up_after_itself_and_reports_what_it_did() -> None:
    buffer = io.StringIO()
    result = run_demo(n_products=30, seed=4, console=Console(file=buffer, width=200))
    assert not result.root.exists() and not result.root.parent.exists()
    assert result.orders_imported == 2
    assert result.listed > 0
    assert f"Demo finished in {result.seconds:.1f} s." in buffer.getvalue()


def test_demo_refuses_a_catalog_too_small_to_tell_the_story() -> None:
    result = CliRunner().invoke(main, ["demo", "--products", "3"])
    assert result.exit_code == 2
    assert "Invalid value for '--products': 3 is not in the range 10<=x<=2000." in result.output


# -- tokbridge sandbox --------------------------------------------------------------------------------


class RunningSandbox:
    """A `tokbridge sandbox` process whose stdout is read on a thread, so waits have a deadline."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([*TOKBRIDGE, "sandbox", *args], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: io.TextIOBase) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> list[str]:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not any(text in line for line in self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self._queue.empty()):
                raise AssertionError(f"`tokbridge sandbox` never printed {text!r}; it printed: {self.lines}, "
                                     f"exit {self.process.poll()}")
            try:
                self.lines.append(self._queue.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
        return self.lines

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@contextmanager
def sandbox_process(*args: str) -> Iterator[RunningSandbox]:
    running = RunningSandbox(*args)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


@pytest.mark.slow
def test_sandbox_config_dir_is_ready_to_validate_plan_and_apply(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    with sandbox_process("--products", "30", "--config-dir", str(shop), "--review-delay", "1") as sandbox:
        lines = sandbox.wait_for("Ctrl-C to stop.")
        assert any(re.match(r"^Ecwid sandbox:  http://127\.0\.0\.1:\d+  \(30 generated products, seed 0\)$", line)
                   for line in lines), lines
        assert any(re.match(r"^TikTok sandbox: http://127\.0\.0\.1:\d+  \(US shop; reviews take 1 s\)$", line)
                   for line in lines), lines
        assert any(line.startswith(f"Config: {shop} (credentials in {shop / '.tokbridge' / 'secrets'}; TikTok shop ")
                   for line in lines), lines
        secrets = dict(line.split("=", 1) for line in (shop / ".tokbridge" / "secrets").read_text().splitlines())
        assert set(secrets) == {"ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET"}
        assert (shop / ".tokbridge" / "secrets").stat().st_mode & 0o077 == 0
        assert not any(secrets["ECWID_TOKEN"] in line for line in lines)  # a written config is not echoed

        validated = tokbridge("validate", str(shop))
        assert validated.returncode == 0, validated.stderr
        assert validated.stdout == f"{shop}: valid (2 selling policies, 10 category rule(s))\n"
        planned = tokbridge("plan", "--config", str(shop), "--detailed-exitcode")
        assert planned.returncode == 2, planned.stdout + planned.stderr
        assert "Plan: 27 to create, 0 to update, 0 to stop or delete, 1 blocked; 27 trigger review." in \
            planned.stdout.splitlines()
        applied = tokbridge("apply", "--config", str(shop), "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "Apply complete: 27 actions done, 0 failed." in applied.stdout.splitlines()
        status = tokbridge("status", "--config", str(shop))
        assert re.search(r"^  (PENDING|ACTIVATE) +\d+$", status.stdout, re.M), status.stdout
        # The pull-request workflow's two commands (docs/examples/tokbridge-plan.yml), run as it runs them.
        assert tokbridge("validate", ".", "--format", "github", cwd=shop).returncode == 0
        refreshed = tokbridge("plan", "--config", ".", "--refresh", "--detailed-exitcode", cwd=shop)
        assert refreshed.returncode in (0, 2), refreshed.stdout + refreshed.stderr  # reviews may still run
        assert "to create" not in refreshed.stdout or "Plan: 0 to create" in refreshed.stdout

        code, err = sandbox.interrupt()
    assert code == 0, err
    assert err.strip().endswith("sandboxes stopped")


def test_sandbox_prints_credentials_that_work_and_serves_a_snapshot(tmp_path: Path) -> None:
    catalog = generate_catalog(5, seed=9)
    snapshot = tmp_path / "catalog.json"
    snapshot.write_text(json.dumps({"products": catalog.products, "categories": catalog.categories}))
    with sandbox_process("--ecwid-catalog", str(snapshot)) as sandbox:
        lines = sandbox.wait_for("Ctrl-C to stop.")
        exports = dict(line.removeprefix("  export ").split("=", 1) for line in lines
                       if line.startswith("  export "))
        assert set(exports) == {"ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY", "TIKTOK_APP_SECRET"}
        ecwid = next(re.search(r"base_url: (\S+)\}", line) for line in lines if line.startswith("  ecwid:  "))
        assert ecwid is not None
        answer = httpx.get(f"{ecwid.group(1)}/1003/products",
                           headers={"Authorization": f"Bearer {exports['ECWID_TOKEN']}"})
        assert answer.status_code == 200
        assert sorted(p["sku"] for p in answer.json()["items"]) == sorted(p["sku"] for p in catalog.products)
        assert "Ecwid sandbox:  " in lines[0] and f"(loaded from {snapshot})" in lines[0]
        code, _ = sandbox.interrupt()
    assert code == 0


def test_sandbox_refuses_to_overwrite_a_config(tmp_path: Path) -> None:
    (tmp_path / "tokbridge.yaml").write_text("version: 1\n")
    result = CliRunner().invoke(main, ["sandbox", "--products", "5", "--config-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'tokbridge.yaml'} already exists; not overwriting anything" in result.output
