"""The state's listings, and the stored desired listings, as the diff reads them: hashes first,
essences only where they differ.

A converged catalog of 100,000 listings needs no essence decoded: the state keeps each listing's
applied `essence_hash`, and a listing whose known essence is its applied one (`settled`) and whose
hash equals the desired essence's hash has nothing to write. `StoredListings` is a read-only
mapping of Ecwid product id -> ActualListing that knows each row's status, hash and digest without
decoding it, and decodes (in bulk, through the loader the state store gives it) only the rows the
diff asks for. A row's `digest` is `actual_hash` of the listing it decodes to, so a plan's inputs
digest is the same whichever way the actual side was read.

`StoredDesired` is the same for the desired side: the rules' stored outcome per product (see
`engine.passes.mirror`) gives each listing's intent, essence hash and `desired_hash` without
decoding it, so a converged catalog planned from the mirror decodes no listing either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, NamedTuple, TypeVar

from engine.model.listing import DesiredListing, ListingIntent, ProductStatus
from engine.reconcile.essence import ActualListing, audit_failure_to_json, canonical_json, essence_to_json

R = TypeVar("R")  # what a row says before it is decoded
V = TypeVar("V")  # the decoded value


class StoredRow(NamedTuple):
    """What the diff needs of a stored listing before deciding whether to decode it (a named tuple, not
    a frozen dataclass: 100,000 of them are built per plan, at a third of the cost)."""

    status: ProductStatus
    essence_hash: str  # of the applied essence
    settled: bool  # the known essence is the applied one (no TikTok edit or adoption recorded since)
    digest: str  # `actual_hash` of the stored listing


def stored_digest(
    ecwid_product_id: int,
    tiktok_product_id: str,
    status: str,
    stopped_by_us: bool,
    applied_hash: str,
    known_json: str | None,
    live_json: str,
    sku_ids: Mapping[str, str],
    audit_failures: str,
) -> str:
    """Hash of a listing from its stored parts: the applied essence by its `essence_hash`, the known
    one by its canonical JSON, or None when it is the applied one (most rows: nothing more to read)."""
    h = hashlib.sha256()
    for part in (str(ecwid_product_id), tiktok_product_id, status, "1" if stopped_by_us else "0", applied_hash,
                 "=" if known_json is None else known_json, live_json,
                 canonical_json(dict(sorted(sku_ids.items()))), audit_failures):
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()


def actual_hash(listing: ActualListing) -> str:
    """Everything the reconciler reads of an actual listing, as one hash (a plan's inputs digest)."""
    applied = canonical_json(essence_to_json(listing.applied))
    known = canonical_json(essence_to_json(listing.known))
    return stored_digest(
        listing.ecwid_product_id, listing.tiktok_product_id, listing.status.value, listing.stopped_by_us,
        hashlib.sha256(applied.encode()).hexdigest(), None if known == applied else known,
        "" if listing.live is None else canonical_json(essence_to_json(listing.live)),
        listing.sku_ids, canonical_json([audit_failure_to_json(f) for f in listing.audit_failures]))


class _DecodedOnDemand(Mapping[int, V], Generic[R, V]):
    """Rows by Ecwid product id whose values are decoded on first access (`preload` decodes many at once).

    `rows` says what is there without decoding it; `load` decodes a list of ids in one go; `decoded`
    are values already at hand.
    """

    def __init__(self, rows: Mapping[int, R], load: Callable[[list[int]], Mapping[int, V]],
                 decoded: Mapping[int, V] | None = None) -> None:
        self.rows = rows
        self._load = load
        self._decoded: dict[int, V] = dict(decoded or {})

    def preload(self, ids: Iterable[int]) -> None:
        """Decode these rows in one go (the diff knows which rows it will read)."""
        missing = sorted(pid for pid in ids if pid in self.rows and pid not in self._decoded)
        if missing:
            self._decoded.update(self._load(missing))

    def release(self, ids: Iterable[int]) -> None:
        """Drop these rows' decoded values (decoded again if asked): the diff walks a big catalog a window
        at a time, so only a window's values are decoded at once (the actions keep the ones they carry)."""
        for pid in ids:
            self._decoded.pop(pid, None)

    def __getitem__(self, pid: int) -> V:
        if pid not in self.rows:
            raise KeyError(pid)
        if pid not in self._decoded:
            self.preload([pid])
        return self._decoded[pid]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, pid: object) -> bool:
        return pid in self.rows


class StoredListings(_DecodedOnDemand[StoredRow, ActualListing]):
    """Stored listings by Ecwid product id, decoded on first access (`preload` decodes many at once)."""


class DesiredRow(NamedTuple):
    """What the diff needs of a stored desired listing before deciding whether to decode it (a named tuple,
    as `StoredRow`)."""

    intent: ListingIntent
    essence_hash: str  # `essence_hash(essence_of(listing))`
    desired_hash: str  # `codec.desired_hash(listing)`


class StoredDesired(_DecodedOnDemand[DesiredRow, DesiredListing]):
    """Desired listings by Ecwid product id, decoded on first access (`preload` decodes many at once).

    `decoded` are listings already at hand (evaluated in this run); the rest come from `load`.
    """
