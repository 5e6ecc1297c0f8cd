"""Every state test that takes `backend` runs twice: on a SQLite file and on PostgreSQL (tests/pg.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import BACKENDS, StateBackend, state_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    with state_backend(request.param, tmp_path) as where:
        yield where
