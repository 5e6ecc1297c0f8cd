"""The state's copy of the Ecwid catalog and of the rules' outcome per product (`StateStore` mixin).

- `ecwid_products`: each product's raw Ecwid JSON (combinations included) with what the evaluation
  needs without decoding it: `content_hash` (keys the evaluation) and whether it could be read;
  `ecwid_product_skus` holds the SKUs each readable product claims (its own, or its variations'),
  so the catalog-wide duplicate check is one query.
- `ecwid_store`: one row: the store profile, the category list, Ecwid's `latest-stats` as last
  seen, whether that sight was `settled` (see `engine.runtime`), and when the last read and the
  last full read happened.
- `evaluations`: per product, the key it was evaluated under and its outcome: intent, the essence
  and desired-listing hashes the diff compares and the action-required items, each '' when there is
  none; `evaluation_listings`: the listing (codec JSON) of those that have one, apart, so reading
  the outcomes never walks a listing's pages.

Writes are upserts (`INSERT ... ON CONFLICT ... DO UPDATE`), so reading a product twice (the
overlap window of an incremental read) changes nothing; an older copy of a product (two processes
reading at once) never replaces a newer one. Strings in, strings out: what the JSON
means is the runtime's and the passes' business.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

_IDS_PER_QUERY = 500  # under SQLite's bound-parameter limit
# left out of the open check
MIRROR_TABLES = frozenset({"ecwid_products", "ecwid_product_skus", "evaluations", "evaluation_listings"})


@dataclass(frozen=True, slots=True)
class MirroredProduct:
    product_id: int
    update_timestamp: int
    content_hash: str
    skus: tuple[str, ...] | None  # the SKUs the product claims; None when it cannot be read
    body: str  # the raw Ecwid JSON


@dataclass(frozen=True, slots=True)
class MirrorHead:
    """The mirror's one row: store details and how current the products are."""

    profile: str  # JSON
    categories: str  # JSON list, as Ecwid pages them
    products_updated: int  # latest-stats as last seen (UNIX seconds)
    categories_updated: int
    profile_updated: int
    settled: bool  # the stats were old enough when seen that no same-second change can hide behind them
    synced_at: float
    full_read_at: float


class StoredEvaluation(NamedTuple):
    """One product's stored outcome without its listing JSON (read apart, only where the diff needs it); a
    named tuple: one per product is read per plan."""

    cache_key: str
    intent: str  # "" when the product has no listing
    essence_hash: str
    desired_hash: str
    problems: str  # JSON list of action-required items, "" when none


class MirrorTables:
    """The mirror's reads and writes; mixed into `StateStore`, whose transaction and reads it uses."""

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def mirror_head(self) -> MirrorHead | None:
        rows = self._read("SELECT profile, categories, products_updated, categories_updated, profile_updated, "
                          "settled, synced_at, full_read_at FROM ecwid_store")
        if not rows:
            return None
        p, c, pu, cu, fu, settled, synced, full = rows[0]
        return MirrorHead(p, c, int(pu), int(cu), int(fu), bool(settled), float(synced), float(full))

    def save_mirror_head(self, head: MirrorHead) -> None:
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO ecwid_store (id, profile, categories, products_updated, categories_updated,
                       profile_updated, settled, synced_at, full_read_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, categories = excluded.categories,
                       products_updated = excluded.products_updated,
                       categories_updated = excluded.categories_updated,
                       profile_updated = excluded.profile_updated, settled = excluded.settled,
                       synced_at = excluded.synced_at, full_read_at = excluded.full_read_at""",
                (head.profile, head.categories, head.products_updated, head.categories_updated,
                 head.profile_updated, int(head.settled), head.synced_at, head.full_read_at))

    def mirror_products(self, products: Iterable[MirroredProduct], *, deleted: Iterable[int] = ()) -> None:
        """Upsert these products and drop the deleted ones (with their evaluations), in one transaction."""
        given = list(products)
        rows = [(p.product_id, p.update_timestamp, p.content_hash, int(p.skus is not None), p.body) for p in given]
        skus = [(p.product_id, sku, p.content_hash) for p in given for sku in p.skus or ()]
        gone = sorted({int(pid) for pid in deleted})
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO ecwid_products (product_id, update_timestamp, content_hash, readable, body)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (product_id) DO UPDATE SET update_timestamp = excluded.update_timestamp,
                       content_hash = excluded.content_hash, readable = excluded.readable, body = excluded.body
                   WHERE excluded.update_timestamp >= ecwid_products.update_timestamp""",
                rows)
            # The SKUs follow the copy that was kept (an older one may have been refused just above).
            kept = "(SELECT content_hash FROM ecwid_products WHERE product_id = ?) = ?"
            conn.executemany(f"DELETE FROM ecwid_product_skus WHERE product_id = ? AND {kept}",
                             [(p.product_id, p.product_id, p.content_hash) for p in given])
            conn.executemany(f"INSERT INTO ecwid_product_skus (product_id, sku) SELECT ?, ? WHERE {kept}",
                             [(pid, sku, pid, digest) for pid, sku, digest in skus])
            for chunk in _chunks(gone):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM ecwid_product_skus WHERE product_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM ecwid_products WHERE product_id IN ({marks})", chunk)
                # An evaluation outlives its product only until here: it would be taken for a later product
                # with the same id (Ecwid does not reuse ids, a restored snapshot might).
                conn.execute(f"DELETE FROM evaluations WHERE product_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM evaluation_listings WHERE product_id IN ({marks})", chunk)

    def mirror_index(self) -> dict[int, tuple[str, bool]]:
        """Every mirrored product: id -> (content hash, readable), without reading the bodies."""
        rows = self._read("SELECT product_id, content_hash, readable FROM ecwid_products ORDER BY product_id")
        return {pid: (digest, bool(readable)) for pid, digest, readable in rows}

    def shared_skus(self) -> dict[int, set[str]]:
        """Products claiming a SKU that is not theirs alone (another product's too, or two of their
        variations'): product id -> those SKUs. The empty SKU is left out (the SKU check reports it)."""
        rows = self._read(
            """SELECT product_id, sku FROM ecwid_product_skus WHERE sku IN (
                   SELECT sku FROM ecwid_product_skus WHERE sku <> '' GROUP BY sku HAVING COUNT(*) > 1)""")
        found: dict[int, set[str]] = {}
        for pid, sku in rows:
            found.setdefault(pid, set()).add(sku)
        return found

    def mirror_hashes(self, ids: Iterable[int]) -> dict[int, str]:
        """The content hash of these mirrored products (absent ids are left out)."""
        return self._text_by_product("ecwid_products", "content_hash", ids)

    def mirror_bodies(self, ids: Iterable[int]) -> dict[int, str]:
        """The raw Ecwid JSON of these products (absent ids are left out)."""
        return self._text_by_product("ecwid_products", "body", ids)

    def all_mirror_bodies(self) -> Iterator[tuple[int, str]]:
        """Every product's raw JSON in id order, read in pages so the whole catalog is never one list."""
        last = -1
        while True:
            rows = self._read("SELECT product_id, body FROM ecwid_products WHERE product_id > ? "
                              "ORDER BY product_id LIMIT 1000", (last,))
            if not rows:
                return
            yield from ((pid, body) for pid, body in rows)
            last = rows[-1][0]

    def evaluation_index(self) -> dict[int, StoredEvaluation]:
        rows = self._read("SELECT product_id, cache_key, intent, essence_hash, desired_hash, problems "
                          "FROM evaluations ORDER BY product_id")
        return {row[0]: StoredEvaluation(*row[1:]) for row in rows}

    def evaluation_listings(self, ids: Iterable[int]) -> dict[int, str]:
        """The listing JSON of these products' stored evaluations (those without a listing are left out)."""
        return self._text_by_product("evaluation_listings", "listing", ids)

    def _text_by_product(self, table: str, column: str, ids: Iterable[int]) -> dict[int, str]:
        """`column` of `table` by product_id for these ids (absent ids are left out), asked in chunks so
        a query's parameters stay within the database's limit. `table` and `column` are ours, never input."""
        found: dict[int, str] = {}
        for chunk in _chunks(sorted(set(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._read(f"SELECT product_id, {column} FROM {table} WHERE product_id IN ({marks})", chunk)
            found.update((pid, text) for pid, text in rows)
        return found

    def save_evaluations(self, rows: Iterable[tuple[int, StoredEvaluation, str]]) -> None:
        """Upsert (product id, evaluation, listing JSON or "") rows."""
        given = list(rows)
        values = [(pid, e.cache_key, e.intent, e.essence_hash, e.desired_hash, e.problems) for pid, e, _ in given]
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO evaluations (product_id, cache_key, intent, essence_hash, desired_hash, problems)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (product_id) DO UPDATE SET cache_key = excluded.cache_key,
                       intent = excluded.intent, essence_hash = excluded.essence_hash,
                       desired_hash = excluded.desired_hash, problems = excluded.problems""", values)
            conn.executemany(
                """INSERT INTO evaluation_listings (product_id, listing) VALUES (?, ?)
                   ON CONFLICT (product_id) DO UPDATE SET listing = excluded.listing""",
                [(pid, listing) for pid, _, listing in given if listing])
            conn.executemany("DELETE FROM evaluation_listings WHERE product_id = ?",
                             [(pid,) for pid, _, listing in given if not listing])


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start:start + _IDS_PER_QUERY]
