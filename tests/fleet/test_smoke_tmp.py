from __future__ import annotations

from pathlib import Path

from tests.fleet.world import make_fleet, wait_for


def test_two_stores_list(tmp_path: Path) -> None:
    with make_fleet(tmp_path, stores=2, n_products=3) as fleet:
        fleet.start_worker(0)

        def listed() -> bool:
            fleet.check_alive()
            return all(len([p for p in shop.state()["products"].values() if p["status"] != "DELETED"]) >= 1
                       for _, _, shop in fleet.pairs)
        wait_for(listed, timeout=60, what="listings")
        print(fleet.log_tail())
