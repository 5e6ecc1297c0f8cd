"""Test-wide: no test may open a connection off the loopback interface; long tests start first.

The suite runs under pytest-xdist (the README's test command, `--dist loadgroup`): tests marked
`slow` are put at the front of the collection, so the workers start them at once and the many short
tests fill in beside them, instead of one long test running alone at the end; the tests of a module
that builds a fixture once per module (a shop, a browser) are one group, run on one worker.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Properties check what the code does, not how fast this machine draws their inputs: on a loaded machine (six
# xdist workers on two cores, a benchmark beside them) drawing a big listing can take a second, and
# Hypothesis's timing checks (the too-slow health check, the per-example deadline) would fail a correct test.
settings.register_profile("tokbridge", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("tokbridge")

# The dashboard tests' screenshots (tests/dashboard/conftest.py writes them; one list per run).
DASHBOARD_ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # unix sockets


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test (skipped locally without a server, failed in CI)."""
    from tests.pg import fresh_database

    with fresh_database() as url:
        yield url


_SHARED_SCOPES = ("module", "class", "package")
# A long test's hang guard (pyproject's `timeout` is 300 s): a whole-shop run that takes a minute alone
# took over 300 s on two cores shared by four workers and other work.
SLOW_TIMEOUT = 900


def _shares_a_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a fixture built once for its module (a shop, a browser): its module's
    tests then run on one worker, which builds it once."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in _SHARED_SCOPES for defs in info.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise file order
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
        if _shares_a_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once per run: in the xdist controller, or the only process
        shutil.rmtree(DASHBOARD_ARTIFACTS, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shots = sorted(p.name for p in DASHBOARD_ARTIFACTS.glob("*.png"))
    if shots:
        terminalreporter.write_line(f"dashboard screenshots ({len(shots)}): {DASHBOARD_ARTIFACTS}: {', '.join(shots)}")
