"""Fixtures: an Ecwid sandbox served on 127.0.0.1 and a real EcwidClient talking to it over sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.ecwid import EcwidClient
from engine.sandbox.ecwid import RunningEcwidSandbox, start_ecwid_sandbox


class FakeClock:
    """Shared by client and sandbox so a client 'sleep' moves the sandbox's rate-limit window too."""

    def __init__(self, start: float = 1_720_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def running(clock: FakeClock) -> Iterator[RunningEcwidSandbox]:
    with start_ecwid_sandbox(n_products=30, seed=7, clock=clock, webhook_time_scale=0.0001) as running:
        yield running


@pytest.fixture
def client(running: RunningEcwidSandbox, clock: FakeClock) -> Iterator[EcwidClient]:
    with EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        yield client
