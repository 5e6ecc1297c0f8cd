"""Apply without needless calls: no seller-SKU search before a create whose outcome is not in doubt,
and an image whose bytes were already uploaded in the run is not uploaded again."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.apply import execute
from engine.passes.catalog import plan_catalog
from tests.e2e.world import make_world


def test_creates_send_no_search_and_identical_images_are_uploaded_once(tmp_path: Path) -> None:
    with make_world(tmp_path, n_products=6) as world:
        sandbox = world.ecwid.sandbox
        first, second = sorted(sandbox.products)[:2]
        # The second product shows the first one's pictures under other URLs (same bytes: the
        # sandbox draws an image from its name and ignores the query).
        text = json.dumps(sandbox.products[second])
        for url in set(re.findall(rf"{re.escape(world.ecwid.image_base_url)}/p{second}-(\d+)\.png", text)):
            text = text.replace(f"/p{second}-{url}.png", f"/p{first}-{url}.png?copy=1")
        sandbox.products[second] = json.loads(text)
        world.transport.reset()
        with world.runtime() as runtime:
            plan = plan_catalog(runtime)
            creates = [a for a in plan.actions if a.kind.value == "create_product"]
            report = execute(runtime, plan)
            wanted = {url for a in creates for url in a.payload.listing.main_images}  # type: ignore[union-attr]
        assert creates and report.succeeded
        calls = world.transport.calls
        assert not [p for _, p in calls if p.endswith("/products/search")]
        uploads = [p for _, p in calls if p.endswith("/images/upload")]
        distinct = {url.split("?")[0] for url in wanted}
        assert len(wanted) > len(distinct)  # the copies are there, under their own URLs
        assert len(uploads) == len(distinct)
