"""The CLI's last error boundary: a bug is one redacted line and exit 1; Ctrl-C is exit 130."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from cli import main


@pytest.fixture
def failing() -> Iterator[dict[str, BaseException]]:
    raised: dict[str, BaseException] = {}

    @click.command("boom")
    def boom() -> None:
        raise raised["error"]

    main.add_command(boom)
    try:
        yield raised
    finally:
        main.commands.pop("boom")


def test_a_bug_is_one_redacted_line(failing: dict[str, BaseException]) -> None:
    failing["error"] = RuntimeError("GET /x?access_token=TTP_secret failed")
    result = CliRunner().invoke(main, ["boom"], env={"TOKBRIDGE_DEBUG": ""})
    assert (result.exit_code, result.output) == (
        1, "Error: internal error: RuntimeError: GET /x?access_token=*** failed (this is a bug in tokbridge; "
           "TOKBRIDGE_DEBUG=1 shows the traceback)\n")


def test_debug_shows_the_exception(failing: dict[str, BaseException]) -> None:
    failing["error"] = RuntimeError("kaput")
    result = CliRunner().invoke(main, ["boom"], env={"TOKBRIDGE_DEBUG": "1"})
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


def test_interrupt_exits_130(failing: dict[str, BaseException]) -> None:
    failing["error"] = KeyboardInterrupt()
    result = CliRunner().invoke(main, ["boom"])
    assert (result.exit_code, result.output) == (130, "interrupted\n")
