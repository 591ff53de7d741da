"""The shared migrated databases of the suite start every test as if freshly migrated.

``migrated_sqlite_path`` and ``pg_migrated_url`` (tests/conftest.py) migrate once per session
and hand each test a copy or an emptied schema. Each test below runs twice and writes rows
before it ends, so the second run sees what the first left behind if a fixture leaks it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Engine, Role
from psirf_flow.store.sql import SqlStore
from psirf_flow.store.sql.migrate import HEAD_REVISION, current_revision
from psirf_flow.testing import ManualClock


PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
OPENING = {"incident_ids": ["INC-1"]}


def _row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows in every table of the store's schema but the version table."""
    with engine.connect() as connection:
        names = sorted(sa.inspect(connection).get_table_names())
        return {
            name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in names
            if name != "psirf_flow_alembic_version"
        }


def _check_fresh_then_write(url: str) -> None:
    """The database is at head with no rows; then a case is opened and its ids start at 1."""
    store = SqlStore.open(url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        counts = _row_counts(store.engine)
        assert counts
        assert set(counts.values()) == {0}

        Engine(store, clock=ManualClock()).open(
            "psii", actor=PSS, payload=OPENING, idempotency_key="first"
        )
        with store.engine.connect() as connection:
            ids = connection.execute(sa.text("SELECT id FROM audit_entries")).scalars().all()
        assert sorted(ids) == list(range(1, len(ids) + 1))
    finally:
        store.dispose()


@pytest.mark.parametrize("run", ["first", "second"])
def test_migrated_sqlite_path_is_fresh_each_time(migrated_sqlite_path: str, run: str) -> None:
    """Each test gets a migrated SQLite file holding no rows, whatever the last one wrote."""
    _check_fresh_then_write(migrated_sqlite_path)


@pytest.mark.postgres
@pytest.mark.parametrize("run", ["first", "second"])
def test_pg_migrated_url_is_fresh_each_time(pg_migrated_url: str, run: str) -> None:
    """Each test gets the migrated schema emptied, its serial ids starting again at 1."""
    _check_fresh_then_write(pg_migrated_url)
