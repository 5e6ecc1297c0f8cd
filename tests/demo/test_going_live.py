"""docs/going-live.md stays true: its `bash` blocks run in order on the sandboxes, as real processes.

The first block (`tokbridge init shop`) runs in an empty directory; then `tokbridge sandbox shop`
fills that directory in (as step 2 of the page says) and every later `bash` block runs against
it. Blocks marked `sh` need real accounts or run until stopped: tokbridge must accept each of their
command lines (known command, known options), which is checked without running them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from cli import main
from tests.demo.test_demo import ENV, REPO, sandbox_process
from tests.forked import TokbridgeOnPath

PAGE = REPO / "docs" / "going-live.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S)


def _tokbridge_lines(block: str) -> list[list[str]]:
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("tokbridge ")]


def _accepts(args: list[str]) -> None:
    """Parse the command line as click would, without running it: a wrong command or option raises."""
    command: click.Command = main
    while isinstance(command, click.Group):
        name, *args = args
        command = command.commands[name]
    command.make_context(name, args)


def test_every_command_on_the_page_is_one_tokbridge_accepts(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.json").write_text("{}")  # `apply --plan` checks that the file exists
    lines = [args for language in ("bash", "sh") for block in _blocks(language) for args in _tokbridge_lines(block)]
    assert len(lines) >= 15
    for args in lines:
        _accepts(args)


@pytest.mark.slow
def test_the_runnable_blocks_run_in_order_on_the_sandboxes(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in ENV.items() if not k.startswith(("ECWID_", "TIKTOK_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PYTHONPATH=str(REPO))
    work = tmp_path / "work"
    work.mkdir()

    def run(block: str) -> None:
        done = subprocess.run(["bash", "-e", "-c", block], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, f"{block}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"

    first, *rest = _blocks("bash")
    assert "tokbridge init shop" in first
    # `tokbridge` on PATH: each command line a process of its own, forked with the engine imported
    # (tests/forked.py) onto the shell's streams, in its directory and environment.
    with TokbridgeOnPath(bin_dir):
        run(first)
        with sandbox_process("--products", "20", "--review-delay", "1", str(work / "shop")) as sandbox:
            sandbox.wait_for("Ctrl-C to stop.")
            for block in rest:
                run(block)
            assert sandbox.interrupt()[0] == 0
    assert len(rest) >= 4
