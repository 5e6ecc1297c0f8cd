"""How many actions the executor keeps in flight: Little's law on each TikTok API's rate."""

from __future__ import annotations

import math
import threading

from hypothesis import given
from hypothesis import strategies as st

from engine.apply.pacing import HEADROOM, InFlight

UPLOAD, CREATE, PRICE = "/product/202309/images/upload", "/product/202309/products", "/product/202309/prices/update"


def rate_of(api: str) -> float:
    return 50.0


def test_creates_are_sized_by_their_bottleneck_api_and_service_time() -> None:
    gate = InFlight(rate_of, cap=64, start=8)
    for _ in range(8):
        gate.admit()
    for _ in range(8):  # two uploads and a create each: the upload API allows 25 creates a second
        gate.done(0.4, {UPLOAD: 2, CREATE: 1})
    assert gate.limit == math.ceil(25 * 0.4 * HEADROOM) + 1


def test_a_slower_answer_asks_for_more_in_flight_and_the_cap_bounds_it() -> None:
    quick, slow = InFlight(rate_of, cap=64), InFlight(rate_of, cap=64)
    capped = InFlight(rate_of, cap=10)
    for gate, seconds in ((quick, 0.05), (slow, 0.5), (capped, 5.0)):
        gate.admit()
        gate.done(seconds, {PRICE: 1})
    assert quick.limit == math.ceil(50 * 0.05 * HEADROOM) + 1 < slow.limit == math.ceil(50 * 0.5 * HEADROOM) + 1
    assert capped.limit == 10


def test_calls_queueing_at_a_bucket_stop_the_growth() -> None:
    gate = InFlight(rate_of, cap=64, start=4)
    gate.admit()
    # Each call waited 0.1 s for its token: 5 calls queue at the 50/s bucket, which is never idle.
    gate.done(1.0, {PRICE: 1}, waited=0.1)
    assert gate.limit == 4
    for _ in range(3):  # quicker answers: shrinking stays allowed
        gate.admit()
        gate.done(0.01, {PRICE: 1}, waited=0.1)
    assert gate.limit < 4


def test_a_unit_that_sent_nothing_leaves_the_size_alone() -> None:
    gate = InFlight(rate_of, cap=64, start=5)
    gate.admit()
    gate.done(3.0, {})
    assert gate.limit == 5


@given(st.lists(st.tuples(st.floats(0, 10), st.integers(0, 4), st.integers(0, 2), st.floats(0, 1)), max_size=50),
       st.integers(1, 100))
def test_the_limit_stays_between_one_and_the_cap(units: list[tuple[float, int, int, float]], cap: int) -> None:
    gate = InFlight(rate_of, cap=cap)
    for service, uploads, creates, waited in units:
        gate.admit()
        calls = {api: n for api, n in ((UPLOAD, uploads), (CREATE, creates)) if n}
        gate.done(service, calls, waited)
        assert 1 <= gate.limit <= cap


def test_admission_waits_while_the_limit_is_reached() -> None:
    gate = InFlight(rate_of, cap=64, start=2)
    gate.admit()
    gate.admit()
    third = threading.Event()
    waiter = threading.Thread(target=lambda: (gate.admit(), third.set()))
    waiter.start()
    # Blocked, not slow: nothing can let it in until a unit is done (a wrong gate fails here every time).
    assert not third.wait(0.3)
    gate.done(0.01, {PRICE: 1})
    assert third.wait(10)
    waiter.join(10)
    assert gate.peak == 2
