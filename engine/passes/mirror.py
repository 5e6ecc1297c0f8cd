"""The rules' outcome for the whole mirrored catalog, evaluating only what changed.

Each product's outcome is stored in the state (`evaluations`) under the key it was evaluated with:
the product's content hash (its Ecwid JSON), the digest of what the catalog rules read of the config
(never rules/orders.yaml: an order rule edit keeps every evaluation; of rules/selling.yaml and
mappings/categories.yaml only the rule that selected the product and the `when`s tried before it, of
mappings/attributes.yaml its category's mapping and what every product reads, of tokbridge.yaml the
region: see `engine.passes.evaluation_keys`), the category attributes' digest, the region and the store
details' digest (profile and category names, which products are converted with). A product whose
key is unchanged is not decoded, not evaluated and its listing not read: the diff gets its intent
and hashes (`StoredDesired`) and decodes the listing only if it must act on it. So a plan after a
few Ecwid edits evaluates those few products, one after an edit of a selling policy or a category
rule the products that rule can touch, one of a category's attribute mapping the products mapped to that
category, one of tokbridge.yaml (but its region) or of the sync rules' relist, revise, drift and
on-delete parts none; an edit of what every product reads (the listing templates, the list and stop
rules, the brand, the sales attributes) or a renamed category re-evaluates every product;
`full=True` (`plan --full`) re-evaluates everything.

The catalog-wide check (a SKU used by two products) runs over the SKUs stored with each product,
so it needs no product decoded either, and its outcome is never stored: it depends on other
products. The result equals `engine.rules.evaluate` of the whole catalog (the property test in
tests/e2e/test_mirror_plan.py holds the two together).
"""

from __future__ import annotations

import gc
import hashlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from engine.model import jsontext
from engine.model.catalog import Product, UnreadableProduct
from engine.model.listing import ActionRequired, CategoryRules, DesiredListing, ListingIntent, TikTokAttribute
from engine.passes.evalpool import IN_FLIGHT, evaluated_chunks, pool_workers, rows_answered, submit_rows
from engine.passes.evaluation_keys import (
    AttributeParts,
    FirstMatchParts,
    attribute_parts,
    base_digest,
    category_parts,
    selling_parts,
)
from engine.passes.outcomes import Outcome, OutcomeContext, stored_outcome
from engine.reconcile import listing_from_json
from engine.reconcile.codec import action_required_from_json
from engine.reconcile.stored import DesiredRow, StoredDesired
from engine.rules import Evaluation
from engine.rules.category_rules import rules_digest
from engine.rules.evaluation import attributes_digest, duplicate_skus
from engine.runtime import Runtime
from engine.state import MirroredProduct, StoredEvaluation

EVALUATE_BATCH = 2_000  # products converted and evaluated at a time, so memory stays bounded on a full run
# Fresh listings kept decoded for the diff (it need not decode them again from their JSON). Only this many:
# a cold run of 100,000 products kept them all (1,081 MB at its peak, serial); beyond, the diff decodes the
# ones it acts on from the state's listing JSON, a batch at a time (`engine.reconcile.differ`).
DECODED_KEPT = 5_000
LOAD_BATCH = 2_000  # stored listings decoded per read of the state: their JSON texts are never all at hand


@dataclass(frozen=True, slots=True)
class MirrorEvaluation:
    evaluation: Evaluation
    products: int  # readable products in the catalog
    evaluated: int  # products evaluated in this run (the rest came from the state)


Parts = tuple[FirstMatchParts, FirstMatchParts, AttributeParts]


def evaluate_mirror(
    runtime: Runtime,
    *,
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None,
    category_rules: Mapping[str, CategoryRules] | None = None,
    full: bool = False,
    during_read: ReadEvaluation | None = None,
) -> MirrorEvaluation:
    """Every mirrored product's outcome: stored where its key is unchanged, evaluated (and stored) otherwise.

    `during_read`: the products the read before this evaluated as it went (`ReadEvaluation`); with `full`,
    their outcomes count as this run's (the rest of the state's are not trusted). Any product whose key no
    longer holds (edited after it was evaluated, the store details changed) is evaluated here as always."""
    if during_read is not None:
        during_read.finish()
    suffix, parts = _run_keys(runtime, category_attributes, category_rules, runtime.details_digest)
    # The collector pauses for the whole run (`collection_paused`): reading one row per product, then
    # evaluating and storing, make millions of small acyclic values it would only walk again and again.
    with collection_paused():
        index = runtime.state.mirror_index()
        stored = _trusted(runtime, full, during_read)
        shared = _shared_skus(runtime)
        stale = [pid for pid, (digest, _) in index.items() if pid not in shared
                 and (pid not in stored or not _holds(stored[pid].cache_key, digest + suffix, parts))]
        decoded: dict[int, DesiredListing] = dict(during_read.decoded) if during_read else {}
        for fresh in _fresh_outcomes(runtime, stale, index, suffix + "|", category_attributes, category_rules):
            runtime.state.save_evaluations((pid, row, text) for pid, (row, text, _) in fresh.items())
            for pid, (row, _, listing) in fresh.items():
                stored[pid] = row
                decoded.pop(pid, None)  # evaluated again: the one from the read is an older outcome
                if listing is not None and len(decoded) < DECODED_KEPT:
                    decoded[pid] = listing
        evaluation = _assemble(runtime, index, stored, shared, decoded)
    readable = sum(1 for _, can_read in index.values() if can_read)
    early = len(during_read.fresh) if during_read is not None else 0  # evaluated during the read
    return MirrorEvaluation(evaluation, products=readable, evaluated=len(stale) + early)


def _trusted(runtime: Runtime, full: bool, during_read: ReadEvaluation | None) -> dict[int, StoredEvaluation]:
    """The stored outcomes this run may keep (if their keys hold): all the state's, or with `full` only those
    evaluated during this run's read."""
    if not full:
        return runtime.state.evaluation_index()
    return dict(during_read.fresh) if during_read is not None else {}


def _run_keys(runtime: Runtime, category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None,
              category_rules: Mapping[str, CategoryRules] | None, details_digest: str) -> tuple[str, Parts]:
    """What every product's key shares in this run, hashed once (the stored keys stay short to read and to
    compare), and the selling, category and attribute parts a stored key is checked against."""
    config = runtime.config
    shared_part = (f"{base_digest(config)}|{attributes_digest(category_attributes)}|{rules_digest(category_rules)}"
                   f"|{config.settings.region.value}|{details_digest}")
    suffix = "|" + hashlib.sha256(shared_part.encode()).hexdigest()
    return suffix, (selling_parts(config), category_parts(config), attribute_parts(config))


class ReadEvaluation:
    """Evaluates a full read's products batch by batch while the read goes on (`Runtime.sync_catalog`'s
    `on_batch`), so a store's first plan takes about the read's time, not the read's and then the evaluation's.

    A full read of a big store is paced by Ecwid's 600 requests/minute (100 products a request: 1,000
    products a second, at most); evaluating a product costs well under a millisecond, so evaluating each
    written batch (`FULL_READ_BATCH`) here takes less than the second of budget its ten pages leave, and the
    read's rate limiter, a token bucket, lets the next pages go at once. The outcomes are stored under the
    same keys as `evaluate_mirror`'s, from the same converted products (the read's own), and evaluate_mirror
    checks every key again: a product edited after it was evaluated here (read again, its content changed),
    a product a later batch dropped, a changed store detail, a product sharing a SKU with a later one, all
    come out as they would without this. Products whose stored outcome already holds are not evaluated
    again (a periodic full read); with `full` (`plan --full`) every product read is. Only the first
    `DECODED_KEPT` listings are kept decoded for the diff, as in `evaluate_mirror`.

    Once the read has handed over as many products as the evaluation workers pay for (`pool_workers`),
    each batch goes to them as its Ecwid JSON (`evalpool.submit_rows`) and the read goes on at once; their
    answers are stored in order as they come, the rest by `finish` (`evaluate_mirror` calls it). A chunk
    whose worker failed is not stored: evaluate_mirror finds its products stale and evaluates them."""

    def __init__(self, runtime: Runtime, *, category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None,
                 category_rules: Mapping[str, CategoryRules] | None, full: bool = False) -> None:
        self._runtime = runtime
        self._attributes, self._rules, self._full = category_attributes, category_rules, full
        self._run: tuple[str, Parts, OutcomeContext, Mapping[int, StoredEvaluation]] | None = None
        self.fresh: dict[int, StoredEvaluation] = {}  # the outcomes evaluated during the read, by product
        self.decoded: dict[int, DesiredListing] = {}
        self._read = 0  # products the read has handed over
        self._pending: deque[tuple[list[int], Future[bytes] | None]] = deque()  # chunks at the workers

    def __call__(self, batch: Sequence[tuple[MirroredProduct, Product | UnreadableProduct]]) -> None:
        suffix, parts, context, known = self._started()
        self._read += len(batch)
        stale = [(row, product) for row, product in batch
                 if not ((held := self.fresh.get(row.product_id) or known.get(row.product_id)) is not None
                         and _holds(held.cache_key, row.content_hash + suffix, parts))]
        self._take(block=False)
        # Over the workers once the read has gone past what pays for them (`pool_workers`): the read, this
        # process's core, goes on meanwhile; a chunk a worker failed is left stale for evaluate_mirror.
        workers = pool_workers(self._read) if stale else 0
        if workers:
            rows = [(row.product_id, row.body, row.content_hash) for row, _ in stale]
            self._pending.append(([pid for pid, _, _ in rows],
                                  submit_rows(workers, context, self._runtime.mirror.categories, rows)))
            while len(self._pending) > workers * IN_FLIGHT:
                self._take(block=True)
        elif stale:
            self._evaluate_here(context, stale)

    def _started(self) -> tuple[str, Parts, OutcomeContext, Mapping[int, StoredEvaluation]]:
        """The run's keys, context and the stored outcomes it may keep, made at the first batch."""
        if self._run is None:
            runtime = self._runtime
            # The read loaded the store details before its first batch. Taken from the mirror as they are:
            # `Runtime.details_digest` would start a read of its own while this one has saved no head yet.
            profile = runtime.mirror.profile
            assert profile is not None  # loaded by the read before its first page
            suffix, parts = _run_keys(runtime, self._attributes, self._rules, runtime.mirror.details_digest)
            context = OutcomeContext(runtime.config, profile, self._attributes, self._rules, suffix + "|")
            stored: Mapping[int, StoredEvaluation] = {} if self._full else runtime.state.evaluation_index()
            self._run = suffix, parts, context, stored
        return self._run

    def _evaluate_here(self, context: OutcomeContext,
                       stale: list[tuple[MirroredProduct, Product | UnreadableProduct]]) -> None:
        with collection_paused():
            found: list[tuple[int, StoredEvaluation, str]] = []
            for row, product in stale:
                pid = row.product_id
                outcome, text, listing = stored_outcome(context, product, row.content_hash)
                found.append((pid, outcome, text))
                self.fresh[pid] = outcome
                self.decoded.pop(pid, None)
                if listing is not None and len(self.decoded) < DECODED_KEPT:
                    self.decoded[pid] = listing
            self._runtime.state.save_evaluations(found)

    def finish(self) -> None:
        """Wait for the chunks still at the workers and store their outcomes (evaluate_mirror calls it)."""
        while self._pending:
            self._take(block=True)

    def _take(self, *, block: bool) -> None:
        """Store the outcomes of the workers' finished chunks, oldest first (waiting for the oldest if `block`)."""
        while self._pending and (block or (self._pending[0][1] is None or self._pending[0][1].done())):
            pids, future = self._pending.popleft()
            answered = rows_answered(future, pids)
            if answered is not None:
                self._runtime.state.save_evaluations(answered)
                self.fresh.update((pid, row) for pid, row, _ in answered)
                for pid in pids:
                    self.decoded.pop(pid, None)  # an older outcome's listing, if the product was read twice
            block = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a plan reads one row per product: the 300,000 tuples
    a 100,000-product plan reads hold no cycles, yet each thousand allocations set off a collection that
    walks them all (a third of such a plan's CPU). Evaluating and storing the outcomes are the same kind of work
    (a fifth of a serial cold run's CPU at 10,000 products went to collections walking the listings kept)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _holds(key: str, head: str, parts: Parts) -> bool:
    """Whether a stored key still holds: same product content and base, and the selling policy, category
    rule and category attribute parts it was evaluated under unchanged (`engine.passes.evaluation_keys`)."""
    stored_head, selling, category, attributes = key.rsplit("|", 3)
    return (stored_head == head and selling in parts[0].valid and category in parts[1].valid
            and attributes in parts[2].valid)


def _assemble(
    runtime: Runtime,
    index: Mapping[int, tuple[str, bool]],
    stored: Mapping[int, StoredEvaluation],
    shared: Mapping[int, tuple[ActionRequired, ...]],
    decoded: Mapping[int, DesiredListing],
) -> Evaluation:
    """The catalog's Evaluation from the stored outcomes: listings as hash rows, decoded on demand."""
    rows: dict[int, DesiredRow] = {}
    problems: list[ActionRequired] = []
    intents = {intent.value: intent for intent in ListingIntent}
    for pid in index:
        if pid in shared:
            problems.extend(shared[pid])
            continue
        outcome = stored[pid]
        if outcome.intent:
            rows[pid] = DesiredRow(intents[outcome.intent], outcome.essence_hash, outcome.desired_hash)
        if outcome.problems:
            problems.extend(action_required_from_json(item) for item in jsontext.loads(outcome.problems))
    problems.sort(key=lambda item: (item.ecwid_product_id, item.rule, item.sku, item.reason))
    return Evaluation(StoredDesired(rows, lambda ids: _load_listings(runtime, ids), decoded), tuple(problems))


def _fresh_outcomes(
    runtime: Runtime,
    stale: list[int],
    index: Mapping[int, tuple[str, bool]],
    suffix: str,
    category_attributes: Mapping[str, Sequence[TikTokAttribute]] | None,
    category_rules: Mapping[str, CategoryRules] | None,
) -> Iterator[dict[int, Outcome]]:
    """The outcomes of the stale products, a batch at a time: over worker processes when they are many
    (`engine.passes.evalpool`), here otherwise, through the same `stored_outcome`."""
    if not stale:
        return iter(())
    runtime.ensure_details()
    profile = runtime.mirror.profile
    assert profile is not None  # ensure_details loads the store details
    context = OutcomeContext(runtime.config, profile, category_attributes, category_rules, suffix)
    serial = partial(_evaluate, runtime, index, context)
    workers = pool_workers(len(stale))
    if workers:
        return evaluated_chunks(runtime, stale, index, context, workers, serial)
    return (serial(chunk) for chunk in _chunks(stale, EVALUATE_BATCH))


def _evaluate(runtime: Runtime, index: Mapping[int, tuple[str, bool]], context: OutcomeContext,
              ids: list[int]) -> dict[int, Outcome]:
    """Evaluate these products here; each outcome as its stored row, its listing JSON and the listing itself.

    The collector pauses here as in the evaluation workers and `engine.rules.evaluate` (`evaluate_mirror`
    pauses it already; the evaluation pool's fallback calls this too)."""
    with collection_paused():
        products = runtime.products(ids)
        found = {pid: stored_outcome(context, products[pid], index[pid][0]) for pid in ids}
    runtime.mirror.forget(ids)  # converted for this evaluation only: memory stays bounded by the batch
    return found


def _load_listings(runtime: Runtime, ids: list[int]) -> dict[int, DesiredListing]:
    """The stored listings of these products, decoded; read `LOAD_BATCH` at a time, so the JSON texts of a
    big request are never all in memory beside the listings they decode to."""
    found: dict[int, DesiredListing] = {}
    for chunk in _chunks(ids, LOAD_BATCH):
        found.update((pid, listing_from_json(jsontext.loads(text)))
                     for pid, text in runtime.state.evaluation_listings(chunk).items())
    return found


def _shared_skus(runtime: Runtime) -> dict[int, tuple[ActionRequired, ...]]:
    """The duplicate-SKU items (`engine.rules.evaluation.duplicate_skus`), decoding only the products involved."""
    involved = runtime.state.shared_skus()
    if not involved:
        return {}
    products = runtime.products(involved)
    return duplicate_skus([p for pid in sorted(products) if isinstance(p := products[pid], Product)])


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]

