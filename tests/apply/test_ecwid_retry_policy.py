"""Relative and creating Ecwid writes are never blindly repeated: a lost answer is surfaced, not resent.

A real EcwidClient against the Ecwid sandbox on 127.0.0.1. A transport around the real one lets the
request reach the sandbox and then loses the answer, as a timeout after Ecwid acted would.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engine.ecwid import EcwidClient
from engine.http import RetryableError
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox
from engine.sandbox.faults import Fault


class Wire(httpx.HTTPTransport):
    """Counts requests per (method, path end); `lose` answers are dropped after the sandbox acted,
    `refuse` connections fail before anything is sent."""

    def __init__(self, *, lose: int = 0, refuse: int = 0, path_part: str = "/inventory") -> None:
        super().__init__()
        self.lose = lose
        self.refuse = refuse
        self.path_part = path_part
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        matches = self.path_part in request.url.path
        if matches and self.refuse:
            self.refuse -= 1
            raise httpx.ConnectError("connection refused", request=request)
        self.sent.append((request.method, request.url.path))
        response = super().handle_request(request)
        if matches and self.lose:
            self.lose -= 1
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def count(self) -> int:
        return sum(1 for _, path in self.sent if self.path_part in path)


@pytest.fixture
def running() -> Iterator[RunningEcwidSandbox]:
    with start_ecwid_sandbox(n_products=5, seed=7, webhook_time_scale=0.0001) as running:
        yield running


def client(running: RunningEcwidSandbox, wire: Wire) -> EcwidClient:
    return EcwidClient(running.base_url, running.store_id, running.token, transport=wire, sleep=lambda _: None)


def stock(running: RunningEcwidSandbox, pid: int) -> int:
    return int(running.sandbox.products[pid]["quantity"])


def simple(running: RunningEcwidSandbox) -> int:
    return next(pid for pid, raw in sorted(running.sandbox.products.items())
                if not raw["combinations"] and not raw.get("unlimited"))


def test_a_lost_stock_answer_is_raised_not_resent(running: RunningEcwidSandbox) -> None:
    pid = simple(running)
    before = stock(running, pid)
    wire = Wire(lose=1)
    with client(running, wire) as ecwid, pytest.raises(RetryableError, match="timed out"):
        ecwid.adjust_stock(pid, 3)
    assert wire.count() == 1
    assert stock(running, pid) == before + 3  # applied once, by the one request Ecwid saw


def test_a_stock_change_refused_before_any_work_is_retried(running: RunningEcwidSandbox) -> None:
    pid = simple(running)
    before = stock(running, pid)
    running.sandbox.faults.fail_next(Fault.RATE_LIMITED)
    wire = Wire(refuse=1)
    with client(running, wire) as ecwid:
        ecwid.adjust_stock(pid, -2)
    assert wire.count() == 2  # the 429, then the change; the refused connection never left
    assert stock(running, pid) == before - 2


def test_a_server_error_on_a_stock_change_is_not_repeated(running: RunningEcwidSandbox) -> None:
    pid = simple(running)
    before = stock(running, pid)
    running.sandbox.faults.fail_next(Fault.SERVER_ERROR)
    wire = Wire()
    with client(running, wire) as ecwid, pytest.raises(RetryableError, match="HTTP 500"):
        ecwid.adjust_stock(pid, 4)
    assert wire.count() == 1 and stock(running, pid) == before


def test_creates_are_not_resent_but_absolute_updates_are(running: RunningEcwidSandbox) -> None:
    wire = Wire(lose=1, path_part="/products")
    count = len(running.sandbox.products)
    with client(running, wire) as ecwid, pytest.raises(RetryableError):
        ecwid.create_product({"name": "Mug", "sku": "MUG-1", "price": 5})
    assert wire.count() == 1 and len(running.sandbox.products) == count + 1

    pid = simple(running)
    wire = Wire(lose=1, path_part=f"/products/{pid}")
    with client(running, wire) as ecwid:
        assert ecwid.update_product(pid, {"price": 7}) == 1  # same result however often it is sent
    assert wire.count() == 2
