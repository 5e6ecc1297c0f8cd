"""The state's catalog mirror tables: upserts that never go back in time, SKUs that follow the kept
copy, deletions that take the product's evaluation along, the head row."""

from __future__ import annotations

from pathlib import Path

from engine.state import MirroredProduct, MirrorHead, StateStore, StoredEvaluation


def product(pid: int, at: int, digest: str, skus: tuple[str, ...] | None = ("A",)) -> MirroredProduct:
    return MirroredProduct(pid, at, digest, skus, f'{{"id": {pid}, "v": "{digest}"}}')


def test_an_older_copy_never_replaces_a_newer_one_and_the_skus_follow_the_kept_copy(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db") as state:
        state.mirror_products([product(1, 20, "new", ("N1", "N2")), product(2, 5, "x", ("S",))])
        state.mirror_products([product(1, 10, "old", ("O1",)), product(2, 5, "y", ("S",))])
        assert state.mirror_index() == {1: ("new", True), 2: ("y", True)}  # same second: the later read wins
        assert state.mirror_bodies([1]) == {1: '{"id": 1, "v": "new"}'}
        state.mirror_products([product(3, 7, "z", ("N2",)), product(4, 7, "u", None)])
        assert state.shared_skus() == {1: {"N2"}, 3: {"N2"}}
        assert state.mirror_index()[4] == ("u", False)  # unreadable: claims no SKU


def test_a_deleted_product_takes_its_evaluation_and_skus_along(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db") as state:
        state.mirror_products([product(1, 1, "a", ("S",)), product(2, 1, "b", ("S",))])
        evaluation = StoredEvaluation("key", "list", "e", "d", "")
        state.save_evaluations([(1, evaluation, '{"x": 1}'), (2, evaluation, "")])
        assert state.evaluation_listings([1, 2]) == {1: '{"x": 1}'}
        state.mirror_products([], deleted=[2, 99])
        assert set(state.mirror_index()) == {1} and set(state.evaluation_index()) == {1}
        assert state.shared_skus() == {}
        assert state.mirror_hashes([1, 2]) == {1: "a"}


def test_the_head_row_is_one_row_replaced_in_place(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db") as state:
        assert state.mirror_head() is None
        head = MirrorHead("{}", "[]", 10, 9, 8, True, 100.0, 50.0)
        state.save_mirror_head(head)
        state.save_mirror_head(MirrorHead("{}", "[]", 11, 9, 8, False, 101.0, 50.0))
        assert state.mirror_head() == MirrorHead("{}", "[]", 11, 9, 8, False, 101.0, 50.0)
