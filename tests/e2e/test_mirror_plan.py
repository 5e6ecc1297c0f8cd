"""The incremental plan equals the full plan, whatever happened in Ecwid and in the config.

Each example builds a world (both sandboxes on 127.0.0.1), links part of the catalog in the state,
and then runs rounds: random merchant edits in the Ecwid sandbox (prices, stock, names, enabling,
new products, deleted products, new variations, a renamed category), sometimes a config edit (a
price rule, a category rule, the sync rules, the attribute mappings, tokbridge.yaml, or the order
rules the catalog evaluation does not read), our clock off Ecwid's by a skew, and a
clock step that is often zero (an edit in the same second as the last read: Ecwid's dates have one
second resolution). After every round a fresh runtime (a new `tokbridge plan` process: only the
state carries over) plans from the state's mirror, asking Ecwid only what changed; the oracle reads
the whole catalog with a plain client, evaluates every product with `engine.rules.evaluate` and
diffs it against the same state. The two plans must match action for action, blocked item for
blocked item, and in their inputs digest. The Ecwid sandbox and the runtime share one manual clock.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import runtime as runtime_module
from engine.ecwid import EcwidClient
from engine.ecwid.converters import content_hash
from engine.http.errors import ConflictError
from engine.model.catalog import Product
from engine.model.listing import ListingIntent, ProductStatus
from engine.model.plan import Plan
from engine.passes import evalpool, evaluation_keys
from engine.passes import mirror as mirror_module
from engine.passes.catalog import plan_catalog
from engine.passes.mirror import evaluate_mirror
from engine.reconcile import ActualListing, diff, essence_of
from engine.rules import Evaluation, ProductEvaluation, evaluate
from engine.rules.category_rules import rules_digest, with_category_rules
from engine.rules.evaluation import attributes_digest
from engine.runtime import Runtime
from engine.sandbox.ecwid.core import EcwidApiError
from engine.sandbox.tiktok.clock import ManualClock
from engine.sandbox.tiktok.data import SIZE_CHART_TEMPLATES
from tests.e2e.world import World, make_world

N_PRODUCTS = 12
# The first category rule's `when` as the "category config" edit rewrites it (tests/e2e/world.py's
# CATEGORIES): clearance products move between the two TikTok categories, or the first rule fails.
CATEGORY_WHENS = ("'T-Shirts' in product.categories",
                  "'T-Shirts' in product.categories or 'Clearance' in product.categories",
                  "'T-Shirts' in product.categories and not 'Clearance' in product.categories",
                  "product.price > 20")

EDITS = st.one_of(
    st.tuples(st.just("price"), st.integers(0, 99), st.integers(1, 9_999)),
    st.tuples(st.just("quantity"), st.integers(0, 99), st.integers(0, 20)),
    st.tuples(st.just("enabled"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("name"), st.integers(0, 99), st.sampled_from(["Tee", "Mug", "Cap with a long name"])),
    st.tuples(st.just("delete"), st.integers(0, 99), st.just(0)),
    st.tuples(st.just("create"), st.integers(0, 99), st.integers(1, 999)),
    st.tuples(st.just("variation"), st.integers(0, 99), st.integers(0, 5)),
    st.tuples(st.just("category"), st.integers(0, 99), st.sampled_from(["Clearance", "T-Shirts", "Basics"])),
    st.tuples(st.just("config"), st.integers(0, 99), st.integers(1, 3)),
    st.tuples(st.just("clearance config"), st.integers(0, 99), st.integers(1, 40)),
    st.tuples(st.just("new policy"), st.integers(0, 99), st.integers(1, 3)),
    st.tuples(st.just("category config"), st.integers(0, 99), st.sampled_from(list(CATEGORY_WHENS))),
    st.tuples(st.just("orders config"), st.integers(0, 99), st.integers(0, 9)),
    st.tuples(st.just("rules/sync.yaml"), st.integers(0, 99), st.integers(0, 9)),
    st.tuples(st.just("mappings/attributes.yaml"), st.integers(0, 99), st.integers(0, 9)),
    st.tuples(st.just("tokbridge.yaml"), st.integers(0, 99), st.integers(0, 9)),
)
SHIRT_CHART = f'"601226": {{ template_id: "{next(iter(SIZE_CHART_TEMPLATES))}" }}\n'  # world.py's, last line
# Edits of the other config files: per file, aspects (picked by an edit's index), each a cycle of texts
# (its value picks the next). Some change every product's outcome (the list rule, the title, the
# brand), some one category's products (its product attributes or size chart), some none (relist,
# drift, intervals, guardrails).
CONFIG_CYCLES: dict[str, tuple[tuple[str, ...], ...]] = {
    "rules/sync.yaml": (
        ("  min_quantity: 1\n  save_mode", "  min_quantity: 2\n  save_mode"),
        ("after_manual_stop: false", "after_manual_stop: true "),
        ('title: "{{ product.name }}"', 'title: "{{ product.name }} !"'),
        ("drift: revert", "drift: adopt "),
    ),
    "mappings/attributes.yaml": (
        ("product.attributes.Material | default('Cotton')", "'Linen'"),
        (SHIRT_CHART, SHIRT_CHART + "  \"601591\": { image: \"'https://example.com/chart.png'\" }\n"),
        ("Brand | default('')", "Brand | default('Acme')"),
    ),
    "tokbridge.yaml": (
        ("poll_ecwid_seconds: 60", "poll_ecwid_seconds: 90"),
        ("max_price_drop_percent: 30", "max_price_drop_percent: 45"),
        ("  port: 8787", "  port: 8788"),
    ),
}
ROUNDS = st.lists(st.tuples(st.lists(EDITS, max_size=4), st.sampled_from([0, 0, 1, 2, 3, 30, 61, 3_601])),
                  min_size=1, max_size=4)
# Our clock against Ecwid's: the mirror must read Ecwid's dates by Ecwid's clock whatever ours says.
SKEWS = st.sampled_from([0, 0, -90, 90, 7_200])


@contextmanager
def mirrored_world(n_products: int = N_PRODUCTS) -> Iterator[tuple[World, ManualClock]]:
    with tempfile.TemporaryDirectory() as tmp, make_world(Path(tmp), n_products=n_products) as world:
        sandbox = world.ecwid.sandbox
        clock = ManualClock(start=sandbox.now() + 1)
        sandbox.clock = clock.now  # the sandbox's dates and the runtime's clock move together
        sandbox.rate_limit_per_minute = 10**9  # the clock barely moves: no minute would ever end
        _link_some(world, clock)
        yield world, clock


def _runtime(world: World, clock: ManualClock, skew: float = 0, **options: Any) -> Runtime:
    """A fresh runtime whose clock is `skew` seconds off the Ecwid sandbox's."""
    return world.runtime(clock=(lambda: clock.now() + skew) if skew else clock.now, **options)


def _link_some(world: World, clock: ManualClock) -> None:
    """Every other listable product is linked as converged; the rest are yet to be created."""
    with _runtime(world, clock) as runtime:
        evaluation = _evaluate_all(runtime, _full_catalog(world), runtime.category_attributes())
        linked = [listing for pid, listing in sorted(evaluation.listings.items())
                  if listing.intent is ListingIntent.LIST and pid % 2 == 0]
        runtime.state.save_listings(
            ActualListing(ecwid_product_id=w.ecwid_product_id, tiktok_product_id=f"7{w.ecwid_product_id:018d}",
                          status=ProductStatus.ACTIVATE, applied=essence_of(w), known=essence_of(w),
                          sku_ids={s.seller_sku: f"{w.ecwid_product_id}{i:03d}" for i, s in enumerate(w.skus)})
            for w in linked)


def _full_catalog(world: World) -> Any:
    running = world.ecwid
    with EcwidClient(running.base_url, running.store_id, running.token, requests_per_minute=10**7) as client:
        return client.fetch_catalog()


def _evaluate_all(runtime: Runtime, catalog: Any, attributes: Any) -> Evaluation:
    """The whole catalog through the rule engine, then each product through its category's rules."""
    evaluation = evaluate(runtime.config, catalog, category_attributes=attributes or None)
    rules = runtime.category_rules() or None
    products = {p.id: p for p in catalog.products}
    listings = {}
    problems = list(evaluation.action_required)
    for pid, listing in evaluation.listings.items():
        outcome = with_category_rules(runtime.config, products.get(pid), ProductEvaluation(listing), rules)
        problems += outcome.action_required
        if outcome.listing is not None:
            listings[pid] = outcome.listing
    problems.sort(key=lambda item: (item.ecwid_product_id, item.rule, item.sku, item.reason))
    return Evaluation(listings=listings, action_required=tuple(problems))


def _oracle(world: World, runtime: Runtime) -> Plan:
    """The plan from a full read and a full evaluation, against the same state."""
    attributes = runtime.category_attributes()
    evaluation = _evaluate_all(runtime, _full_catalog(world), attributes)
    return diff(evaluation.listings, runtime.state.listing_index(), sync=runtime.config.sync,
                blocked=evaluation.action_required, held=runtime.state.action_required(source="tiktok"),
                config_digest=f"{runtime.config.digest}|{attributes_digest(attributes)}"
                              f"|{rules_digest(runtime.category_rules())}")


def _edit(world: World, edit: tuple[str, int, Any], reserve: list[int]) -> None:
    sandbox = world.ecwid.sandbox
    kind, index, value = edit
    ids = sorted(sandbox.products)
    pid = ids[index % len(ids)] if ids else 0
    try:
        if kind == "price" and pid:
            sandbox.admin_update_product(pid, price=value / 100)
        elif kind == "quantity" and pid:
            sandbox.admin_update_product(pid, quantity=value)
        elif kind == "enabled" and pid:
            sandbox.admin_update_product(pid, enabled=value)
        elif kind == "name" and pid:
            sandbox.admin_update_product(pid, name=value)
        elif kind == "delete" and pid:
            sandbox.admin_delete_product(pid)
        elif kind == "create":
            _create(world, value, index)
        elif kind == "variation" and pid:
            sandbox.admin_add_variation(pid, {"Size": f"S{value}"}, sku=f"V-{pid}-{value}", quantity=value)
        elif kind == "category":
            sandbox.admin_rename_category(sorted(sandbox.categories)[index % len(sandbox.categories)], value)
        elif kind == "config":
            world.edit_config("rules/selling.yaml", f"reserve: {reserve[0]}", f"reserve: {value}")
            reserve[0] = value
        elif kind == "clearance config":  # the first policy only: the products it selects
            _edit_selling(world, "- percent: -", f"- percent: -{value} #", count=1)
        elif kind == "new policy":  # a policy above the catch-all: the products it or the catch-all selects
            added = (world.root / "rules" / "selling.yaml").read_text().count("- name: extra-")  # names are unique
            _edit_selling(world, "  - name: default\n", _extra_policy(index, value, added) + "  - name: default\n",
                          count=1)
        elif kind == "category config":  # the first rule: the products it or the catch-all maps
            path = world.root / "mappings" / "categories.yaml"
            text = path.read_text()
            current = next(w for w in sorted(CATEGORY_WHENS, key=len, reverse=True) if f'when: "{w}"' in text)
            path.write_text(text.replace(f'when: "{current}"', f'when: "{value}"', 1))
        elif kind in CONFIG_CYCLES:
            cycle_config(world, kind, index, value)
        elif kind == "orders config":  # a file the catalog rules never read: stored evaluations stay
            with (world.root / "rules" / "orders.yaml").open("a") as orders:
                orders.write(f"# edited {value}\n")
    except (EcwidApiError, ConflictError):
        pass  # an edit Ecwid refuses (a SKU taken twice) is simply not made


def cycle_config(world: World, name: str, aspect: int, value: int) -> None:
    """Set one aspect of a config file (`CONFIG_CYCLES`) to the text `value` picks."""
    cycles = CONFIG_CYCLES[name]
    texts = cycles[aspect % len(cycles)]
    path = world.root / name
    text = path.read_text()
    current = next(t for t in sorted(texts, key=len, reverse=True) if t in text)
    path.write_text(text.replace(current, texts[value % len(texts)], 1))


def _edit_selling(world: World, old: str, new: str, *, count: int) -> None:
    path = world.root / "rules" / "selling.yaml"
    path.write_text(path.read_text().replace(old, new, count))


def _extra_policy(index: int, value: int, number: int = 0) -> str:
    """A policy selecting some products (by stock or by price), with its own markup."""
    when = f"product.quantity > {index % 30}" if value % 2 else f"product.price > {index}"
    return (f"  - name: extra-{index}-{value}-{number}\n    when: \"{when}\"\n"
            f"    price:\n      modifiers:\n        - percent: {value}\n    quantity:\n      source: stock\n")


def _create(world: World, price: int, index: int) -> None:
    running = world.ecwid
    category = sorted(running.sandbox.categories)[index % len(running.sandbox.categories)]
    body = {"name": f"New product {price}", "sku": f"NEW-{price}", "price": price, "quantity": index % 7,
            "categoryIds": [category], "enabled": True,
            "imageUrl": f"{running.image_base_url}/new-{price}.png"}
    with EcwidClient(running.base_url, running.store_id, running.token, requests_per_minute=10**7) as client:
        client.create_product(body)


def _same(incremental: Plan, full: Plan) -> None:
    assert incremental.actions == full.actions
    assert incremental.blocked == full.blocked
    assert incremental.waiting == full.waiting
    assert incremental.inputs_digest == full.inputs_digest


@pytest.mark.slow  # a world per example: minutes on two busy cores
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds=ROUNDS, skew=SKEWS)
def test_incremental_plan_equals_full_plan(rounds: list[tuple[list[tuple[str, int, Any]], int]],
                                           skew: float) -> None:
    with mirrored_world() as (world, clock):
        reserve = [1]
        with _runtime(world, clock, skew) as runtime:
            _same(plan_catalog(runtime), _oracle(world, runtime))  # the first plan reads everything
        for edits, step in rounds:
            for edit in edits:
                _edit(world, edit, reserve)
            clock.advance(step)
            with _runtime(world, clock, skew) as runtime:
                _same(plan_catalog(runtime), _oracle(world, runtime))


class _EditWhilePaging(httpx.HTTPTransport):
    """Makes a merchant edit just before the second page of a product search is asked for: the edited
    product moves to the end of the update order, the others one place up (offset paging's race)."""

    def __init__(self, edit: Callable[[], None]) -> None:
        super().__init__()
        self._edit: Callable[[], None] | None = edit
        self.edited = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if (self._edit is not None and request.url.path.endswith("/products") and params.get("offset") == "100"
                and "updatedFrom" in params):
            self._edit()
            self._edit, self.edited = None, True
        return super().handle_request(request)


def _mirror_is_ecwid(world: World, runtime: Runtime) -> None:
    running = world.ecwid
    with EcwidClient(running.base_url, running.store_id, running.token, requests_per_minute=10**7) as client:
        ecwid = {raw["id"]: content_hash(raw) for raw in client.iter_products_json()}
    assert {pid: digest for pid, (digest, _) in runtime.state.mirror_index().items()} == ecwid


def test_an_edit_that_overtakes_a_paged_read_loses_no_product() -> None:
    """120 products edited long ago and one since: a two-page read from before the first edits. An edit
    during that read skips a product at the page boundary; the next plan must still see its change."""
    with mirrored_world(n_products=130) as (world, clock):
        sandbox = world.ecwid.sandbox
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)  # the first plan: a full read
        clock.advance(300)
        ids = sorted(sandbox.products)
        for pid in ids[:120]:
            sandbox.admin_update_product(pid, quantity=3)
        clock.advance(120)
        sandbox.admin_update_product(ids[125], price=99)  # the newest change, 120 s after the others
        clock.advance(120)
        transport = _EditWhilePaging(lambda: sandbox.admin_update_product(ids[0], price=77))
        with _runtime(world, clock, ecwid_transport=transport) as runtime:
            plan_catalog(runtime)
        assert transport.edited, "the read had two pages and the edit came between them"
        clock.advance(120)
        with _runtime(world, clock) as runtime:
            _same(plan_catalog(runtime), _oracle(world, runtime))
            _mirror_is_ecwid(world, runtime)


def _evaluated(world: World, clock: ManualClock) -> int:
    """Products a fresh plan evaluates (the rest come from the state), its plan checked against the oracle."""
    with _runtime(world, clock) as runtime:
        runtime.sync_catalog()
        attributes = runtime.category_attributes()
        mirrored = evaluate_mirror(runtime, category_attributes=attributes or None,
                                   category_rules=runtime.category_rules() or None)
        _same(plan_catalog(runtime), _oracle(world, runtime))
    return mirrored.evaluated


def test_a_selling_policy_edit_re_evaluates_only_the_products_it_can_touch() -> None:
    """The clearance policy (first in rules/selling.yaml) edited: only clearance products are evaluated
    again; the catch-all edited: only the others; a comment: none; a policy inserted above the
    catch-all: the catch-all's products (their `when`s before changed), not the clearance ones."""
    with mirrored_world(n_products=40) as (world, clock):
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        catalog = _full_catalog(world)
        clearance = {p.id for p in catalog.products if "Clearance" in p.categories}
        others = {p.id for p in catalog.products} - clearance
        assert clearance and others, "the seeded catalog has both kinds"
        _edit_selling(world, "- percent: -", "- percent: -25 #", count=1)
        assert _evaluated(world, clock) == len(clearance)
        _edit_selling(world, "reserve: 1", "reserve: 2", count=1)
        assert _evaluated(world, clock) == len(others)
        _edit_selling(world, "- percent: -25 #", "- percent: -25 # a comment on the same line ", count=1)
        assert _evaluated(world, clock) == 0
        _edit_selling(world, "  - name: default\n", _extra_policy(1_000, 2) + "  - name: default\n", count=1)
        assert _evaluated(world, clock) == len(others)


def test_a_category_rule_edit_re_evaluates_only_the_products_it_can_touch() -> None:
    """The catch-all category rule (second in mappings/categories.yaml) edited: the t-shirts, mapped by the
    first rule, are not evaluated again."""
    with mirrored_world(n_products=40) as (world, clock):
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        catalog = _full_catalog(world)
        shirts = {p.id for p in catalog.products if "T-Shirts" in p.categories}
        assert shirts and len(shirts) < len(catalog.products), "the seeded catalog has both kinds"
        world.edit_config("mappings/categories.yaml", 'when: "product.id > 0"', 'when: "product.id > -1"')
        assert _evaluated(world, clock) == len(catalog.products) - len(shirts)


def test_new_evaluating_code_re_evaluates_the_catalog_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An upgrade of tokbridge's rules or preflight (its code digest) re-evaluates every product once:
    outcomes stored by the old code are not trusted to know what the new code checks."""
    with mirrored_world(n_products=20) as (world, clock):
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        assert _evaluated(world, clock) == 0
        monkeypatch.setattr(evaluation_keys, "engine_digest", lambda: "an-upgraded-engine")
        assert _evaluated(world, clock) == len(_full_catalog(world).products)
        assert _evaluated(world, clock) == 0


class _EditOnRequest(httpx.HTTPTransport):
    """Makes a merchant edit just before Ecwid answers the first request matching `when`: an edit during a
    read, between its latest-stats and its product pages or after them."""

    def __init__(self, when: Callable[[httpx.Request], bool], edit: Callable[[], None]) -> None:
        super().__init__()
        self._when, self._edit = when, edit
        self.edited = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.edited and self._when(request):
            self._edit()
            self.edited = True
        return super().handle_request(request)


def _changed_pages(request: httpx.Request) -> bool:
    return request.url.path.endswith("/products") and "updatedFrom" in request.url.params


def _deleted(request: httpx.Request) -> bool:
    return request.url.path.endswith("/products/deleted")


@pytest.mark.parametrize("when", [_changed_pages, _deleted], ids=["before the changed pages", "after them"])
@pytest.mark.parametrize("skew", [0, -90, 7_200], ids=["no skew", "our clock behind", "our clock ahead"])
def test_an_edit_during_a_read_or_in_its_second_is_seen_by_the_next_plan(
        when: Callable[[httpx.Request], bool], skew: float) -> None:
    """Edits in the same second as a read (during it, before or after its product pages, and just after it,
    the clock not moving), whichever way our clock is off Ecwid's: the next plans see every one."""
    with mirrored_world(n_products=20) as (world, clock):
        sandbox = world.ecwid.sandbox
        ids = sorted(sandbox.products)
        with _runtime(world, clock, skew) as runtime:
            plan_catalog(runtime)
        clock.advance(5)
        sandbox.admin_update_product(ids[1], quantity=4)  # makes the next plan read changes
        transport = _EditOnRequest(when, lambda: sandbox.admin_update_product(ids[2], price=55))
        with _runtime(world, clock, skew, ecwid_transport=transport) as runtime:
            plan_catalog(runtime)
        assert transport.edited
        sandbox.admin_update_product(ids[3], price=66)  # the same second as that read
        for step in (0, 1, 1, 61):
            clock.advance(step)
            with _runtime(world, clock, skew) as runtime:
                _same(plan_catalog(runtime), _oracle(world, runtime))
                _mirror_is_ecwid(world, runtime)


@pytest.mark.parametrize("gap", [1, 2, 30, 59], ids=lambda gap: f"{gap} s later")
def test_edits_inside_the_old_overlap_window_cost_no_page_and_are_seen(gap: int) -> None:
    """Two rounds of 60 edits, the second `gap` seconds after the first round's plan (inside the 60 s the
    read used to reach back): the second plan reads its 60 changes and the first round's margin apart, one
    page each (latest-stats, two pages, the deleted products: 4 requests), and plans what a full read plans."""
    with mirrored_world(n_products=130) as (world, clock):
        sandbox = world.ecwid.sandbox
        ids = sorted(sandbox.products)
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
        clock.advance(10)
        for pid in ids[:60]:
            sandbox.admin_update_product(pid, quantity=5)
        clock.advance(1)  # the plan a second after the edits: they are settled when it reads them
        with _runtime(world, clock) as runtime:
            _same(plan_catalog(runtime), _oracle(world, runtime))
        clock.advance(gap)
        for pid in ids[60:120]:
            sandbox.admin_update_product(pid, quantity=6)
        clock.advance(1)
        with _runtime(world, clock) as runtime:
            plan = plan_catalog(runtime)
            assert runtime.ecwid.request_count == 4
            _same(plan, _oracle(world, runtime))
            _mirror_is_ecwid(world, runtime)


def test_a_product_decoded_from_the_mirror_carries_its_own_json_hash() -> None:
    """Products decoded from the state take the content hash stored beside their JSON instead of hashing it
    again (a cold plan's CPU): that stored hash must be the one their JSON gives, and the one Ecwid's gives."""
    with mirrored_world(n_products=40) as (world, clock), _runtime(world, clock) as runtime:
        runtime.sync_catalog(full=True)
        ids = list(runtime.state.mirror_index())
        runtime.mirror.forget(ids)  # decoded from the state's rows, not kept from the read
        bodies = runtime.state.mirror_bodies(ids)
        decoded = runtime.products(ids)
        assert len(decoded) == len(ids) == len(bodies) > 30
        assert {pid: p.content_hash for pid, p in decoded.items() if isinstance(p, Product)} == {
            pid: content_hash(json.loads(body)) for pid, body in bodies.items() if isinstance(decoded[pid], Product)}
        _mirror_is_ecwid(world, runtime)


class _ChangeDuringFullRead(httpx.HTTPTransport):
    """Runs `change` just before a full read (creation order) asks for the page at `offset`."""

    def __init__(self, offset: int, change: Callable[[], None]) -> None:
        super().__init__()
        self._offset, self._change = str(offset), change
        self.changed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if (not self.changed and request.url.path.endswith("/products")
                and params.get("sortBy") == "ADDED_TIME_ASC" and params.get("offset") == self._offset):
            self._change()
            self.changed = True
        return super().handle_request(request)


def _stored_outcomes(runtime: Runtime) -> tuple[dict[int, Any], dict[int, str]]:
    index = runtime.state.evaluation_index()
    return index, runtime.state.evaluation_listings(index)


@pytest.mark.parametrize(("where", "workers"),
                         [("read", "0"), ("unread", "0"), ("read", "2"), ("unread", "2"), ("read", "failing")])
def test_a_first_plan_evaluating_during_its_read_plans_what_reading_then_evaluating_plans(
        monkeypatch: pytest.MonkeyPatch, where: str, workers: str) -> None:
    """A store's first plan evaluates each batch its full read writes while the read goes on. Products are
    edited and deleted during the read (among those read and evaluated already, or among those not read
    yet): the plan, and every outcome stored, are those of the old order (the whole read, then every
    product evaluated from the mirror); and the next plan sees the changes, as the full plan does (where
    the deletion was of a product read already, see the test after this one)."""
    monkeypatch.setattr(runtime_module, "FULL_READ_BATCH", 40)  # batches evaluated before the change
    # "2": the batches after the first go to two evaluation workers while the read goes on (on two cores);
    # "failing": the pool takes none of them (as if its workers had died): evaluate_mirror evaluates them after
    monkeypatch.setenv(evalpool.ENV_WORKERS, "0" if workers == "0" else "2")
    monkeypatch.setenv(evalpool.ENV_POOL_MIN, "41")
    submitted: list[int] = []

    def submit(*args: Any) -> Any:
        submitted.append(len(args[-1]))
        return None if workers == "failing" else evalpool.submit_rows(*args)

    monkeypatch.setattr(mirror_module, "submit_rows", submit)
    with mirrored_world(n_products=250) as (world, clock):
        sandbox = world.ecwid.sandbox
        ids = sorted(sandbox.products)
        edited, deleted = (ids[10], ids[30]) if where == "read" else (ids[160], ids[220])
        evaluated_before: list[int] = []

        def change() -> None:
            evaluated_before.append(len(runtime.state.evaluation_index()))
            sandbox.admin_update_product(edited, price=77, name="Edited during the read")
            sandbox.admin_delete_product(deleted)

        transport = _ChangeDuringFullRead(100, change)
        with _runtime(world, clock, ecwid_transport=transport) as runtime:
            assert runtime.state.mirror_head() is None and not runtime.state.evaluation_index()
            overlapped = plan_catalog(runtime)
            outcomes = _stored_outcomes(runtime)
        assert transport.changed and evaluated_before  # and some products were evaluated before the change:
        assert evaluated_before[0] >= (80 if workers == "0" else 40)  # the pool's second batch may be under way
        assert bool(submitted) == (workers != "0" and evalpool.usable_cores() >= 2)
        with _runtime(world, clock) as runtime:  # the old order: the mirror as read, every product evaluated
            _same(overlapped, plan_catalog(runtime, from_mirror=True, full=True))
            assert _stored_outcomes(runtime) == outcomes  # byte for byte the same rows and listing JSON
        if where == "unread":
            clock.advance(120)
            with _runtime(world, clock) as runtime:
                _same(plan_catalog(runtime), _oracle(world, runtime))


@pytest.mark.xfail(strict=True, reason="known, in the read before this session's change too: a deletion during a "
                   "store's first full read shifts the offset pages and skips a product until the next full read")
def test_a_deletion_during_a_first_full_read_skips_no_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """A product read already is deleted during the first full read (creation order, offset paging): the
    products after it move one place up, and the one at the next page's offset is skipped. No `before` to
    confirm absences by id on a first read, and its update date is old, so the reads of the changes after it
    never ask for it either: the next plan still lacks it (it is there after the next full read)."""
    with mirrored_world(n_products=250) as (world, clock):
        sandbox = world.ecwid.sandbox
        ids = sorted(sandbox.products)
        transport = _ChangeDuringFullRead(100, lambda: sandbox.admin_delete_product(ids[30]))
        with _runtime(world, clock, ecwid_transport=transport) as runtime:
            plan_catalog(runtime)
        assert transport.changed
        clock.advance(120)
        with _runtime(world, clock) as runtime:
            plan_catalog(runtime)
            _mirror_is_ecwid(world, runtime)
