"""The work queue: one entry per key, the most urgent priority it was given, most urgent first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.watch import Priority, WorkQueue

puts = st.lists(st.tuples(st.sampled_from(["product:1", "product:2", "order:9", "reconcile"]),
                          st.sampled_from(list(Priority))), max_size=30)


@given(puts)
def test_dedupe_keeps_the_most_urgent_priority_and_takes_it_first(items: list[tuple[str, Priority]]) -> None:
    queue = WorkQueue()
    for key, priority in items:
        queue.put(key, priority, "test")
    best: dict[str, Priority] = {}
    for key, priority in items:
        best[key] = min(priority, best.get(key, priority))
    taken = []
    while not queue.idle():
        batch = queue.take(limit=100, timeout=0)
        assert len({item.priority for item in batch}) == 1
        taken.extend(batch)
        queue.done()
    assert {item.key: item.priority for item in taken} == best
    assert len(taken) == len(best)
    assert [item.priority for item in taken] == sorted(item.priority for item in taken)


def test_take_waits_no_longer_than_its_timeout_when_empty() -> None:
    assert WorkQueue().take(limit=10, timeout=0.01) == []
