"""Read-only stores and engines: nothing is created, nothing is written."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Engine, Role, StoreBusy, StoreError, StoreUnavailable
from psirf_flow.domain import SystemReader
from psirf_flow.store.sql import SqlStore, current_revision, make_engine
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"]}
HOLD = {"hold_reason": "other"}


@pytest.fixture
def seeded(db_url: str, clock: ManualClock) -> str:
    """A migrated database on each backend holding case C-1, with one outbox message."""
    store = SqlStore.open(db_url, migrate=True)
    try:
        Engine(store, clock=clock).open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        with store.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO outbox (message_id, case_id, kind, body, created_at) "
                    "VALUES ('m-1', 'C-1', 'k', '{}', :at)"
                ),
                {"at": clock.now()},
            )
    finally:
        store.dispose()
    return db_url


@pytest.fixture
def reader(seeded: str) -> Iterator[SqlStore]:
    """The seeded database opened read-only."""
    store = SqlStore.open(seeded, read_only=True)
    yield store
    store.dispose()


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class TestMissingSqliteFile:
    """A mistyped SQLite path is a clear error, and no file appears."""

    @pytest.mark.parametrize("form", ["path", "url"])
    def test_read_only_store_on_a_missing_file(self, tmp_path: Path, form: str) -> None:
        """Opening read-only names the path, says why, and creates nothing."""
        path = tmp_path / "typo.sqlite3"
        target = str(path) if form == "path" else f"sqlite:///{path}"

        with pytest.raises(StoreUnavailable) as raised:
            SqlStore.open(target, read_only=True)

        assert str(path) in str(raised.value)
        assert "no database file" in str(raised.value)
        assert "none was created" in str(raised.value)
        assert list(tmp_path.iterdir()) == []

    def test_read_only_engine_on_a_missing_file(self, tmp_path: Path) -> None:
        """Reading the revision through a read-only engine creates nothing either."""
        engine = make_engine(str(tmp_path / "typo.sqlite3"), read_only=True)
        try:
            with pytest.raises(StoreUnavailable, match=re.escape("typo.sqlite3")):
                current_revision(engine)
        finally:
            engine.dispose()

        assert list(tmp_path.iterdir()) == []

    def test_read_only_memory_database_is_usable(self) -> None:
        """An in-memory SQLite database opened read-only can be read, never written."""
        engine = make_engine("sqlite://", read_only=True)
        try:
            assert current_revision(engine) is None
            with (
                pytest.raises(sa.exc.OperationalError, match="readonly"),
                engine.connect() as connection,
            ):
                connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        finally:
            engine.dispose()


class TestNothingIsWritten:
    """A read-only store reads and verifies, and refuses every write."""

    def test_reads_and_verifies(self, reader: SqlStore, clock: ManualClock) -> None:
        """Loading, listing and verifying work read-only."""
        engine = Engine(reader, clock=clock)

        assert engine.verify("C-1", reader=READER).ok
        assert reader.load("C-1").version == 1
        assert reader.read_only
        assert repr(reader).endswith(", read_only=True)")

    def test_fire_is_refused_with_a_store_error(self, reader: SqlStore, clock: ManualClock) -> None:
        """A command through a read-only store is refused; the case is unchanged."""
        with pytest.raises(StoreError, match="read-only") as raised:
            Engine(reader, clock=clock).fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)

        assert not isinstance(raised.value, StoreBusy)
        assert reader.load("C-1").version == 1
        assert len(reader.history("C-1")) == 1

    def test_marking_delivered_is_refused(self, reader: SqlStore) -> None:
        """The relay's one write is refused too; the message stays pending."""
        with pytest.raises(StoreError, match="read-only"):
            reader.mark_delivered("m-1", at=datetime(2026, 1, 6, tzinfo=UTC), outcome="applied")

        assert [m.id for m in reader.pending_outbox(10)] == ["m-1"]

    def test_the_database_itself_refuses_writes(self, seeded: str, clock: ManualClock) -> None:
        """A store over a read-only engine (not itself told) still cannot write."""
        engine = make_engine(seeded, read_only=True)
        store = SqlStore(engine)
        try:
            with pytest.raises(StoreError) as raised:
                Engine(store, clock=clock).fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)
            assert raised.value.__cause__ is not None
            assert store.load("C-1").version == 1
        finally:
            engine.dispose()

    def test_migrating_a_read_only_store_is_a_contradiction(self, seeded: str) -> None:
        """Asking for both read-only and a migration is refused before connecting."""
        with pytest.raises(ValueError, match="read-only"):
            SqlStore.open(seeded, read_only=True, migrate=True)


def test_sqlite_file_is_unchanged_by_reading(sqlite_path: str, clock: ManualClock) -> None:
    """Verifying through a read-only store leaves the database file byte for byte as it was."""
    store = SqlStore.open(sqlite_path, migrate=True)
    Engine(store, clock=clock).open("psii", actor=PSS, payload=OPENING, case_id="C-1")
    store.dispose()
    before = _digest(sqlite_path)

    reader = SqlStore.open(sqlite_path, read_only=True)
    try:
        assert Engine(reader, clock=clock).verify("C-1", reader=READER).ok
    finally:
        reader.dispose()

    assert _digest(sqlite_path) == before


@pytest.mark.postgres
def test_postgres_session_is_read_only(pg_url: str) -> None:
    """On PostgreSQL every transaction of a read-only engine is read-only."""
    SqlStore.open(pg_url, migrate=True).dispose()
    engine = make_engine(pg_url, read_only=True)
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql("SHOW default_transaction_read_only").scalar_one()
    finally:
        engine.dispose()

    assert found == "on"
