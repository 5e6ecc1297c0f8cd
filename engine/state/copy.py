"""`tokbridge state copy`: a store's SQLite state carried, row for row, into the state `state_url` names.

For a store that moves onto PostgreSQL (into a fleet) with everything it remembers: links and
last-applied values, the TikTok grant, imported orders and their one-time restocks, the audit log.
Both sides are brought to the same schema version first (the migrations), and both writer locks are
held, so nothing writes either side meanwhile. The target must hold no state yet: two histories are
never merged. Everything is written in one transaction, so a failure leaves the target empty. The
SQLite file stays where it is, to be kept as the backup it now is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.config.types import Config
from engine.state.files import StateError
from engine.state.location import local_state_path, open_state, state_url
from engine.state.schema import TABLES
from engine.state.store import StateStore

COMMAND = "tokbridge state copy"


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: str
    target: str
    rows: Mapping[str, int]  # table -> rows copied, in copy order


def copy_state(source: Path, target: StateStore) -> CopyReport:
    """Copy the SQLite state at `source` into `target` (open, and empty of state)."""
    if not source.is_file():
        raise StateError(f"{source}: there is no SQLite state here to copy")
    with StateStore.open(source) as origin, origin.writer_lock(COMMAND), target.writer_lock(COMMAND):
        held = {table: n for table, n in target.row_counts().items() if n}
        if held:
            kept = ", ".join(f"{n} {table}" for table, n in held.items())
            raise StateError(f"{target.location} already holds state ({kept}): copying would mix two stores' "
                             "histories; nothing was copied")
        rows = {table: origin.rows(table) for table in TABLES}
        target.insert_rows(rows)
    return CopyReport(origin.location, target.location, {table: len(found) for table, found in rows.items()})


def copy_into_state_url(config: Config, *, source: Path | None = None,
                        env: Mapping[str, str] | None = None) -> CopyReport:
    """Copy the SQLite file (`state_path`, or `source`) into the state the config's `state_url` names."""
    if state_url(config, env) is None:
        raise StateError("tokbridge.yaml has no state_url: set it to the PostgreSQL state to copy into "
                         "(docs/fleet.md), then run this again")
    with open_state(config, env=env) as target:
        return copy_state(source or local_state_path(config), target)


def render_copy(report: CopyReport) -> str:
    copied = ", ".join(f"{table} {n}" for table, n in report.rows.items() if n) or "nothing (it was empty)"
    return (f"Copied the state from {report.source} to {report.target}: {copied}.\n"
            f"{report.source} is unchanged: keep it as a backup, and remove it once the store runs on the new state.")
