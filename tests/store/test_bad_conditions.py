"""Bad conditions give clear errors and lose nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from psirf_flow import (
    Actor,
    CorruptRecord,
    Engine,
    Role,
    StoreError,
    StoreUnavailable,
)
from psirf_flow.domain import SystemReader
from psirf_flow.store.sql import SqlStore, make_engine, upgrade
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"]}
HIDDEN = "n0t-a-real-Secret"

REFUSE_HOLD = {
    "sqlite": [
        "CREATE TRIGGER refuse_hold BEFORE INSERT ON audit_entries "
        "WHEN NEW.\"trigger\" = 'hold' BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.\"trigger\" = 'hold' THEN RAISE EXCEPTION 'refused by test'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_hold BEFORE INSERT ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION refuse_hold()",
    ],
}
ALLOW_HOLD = {
    "sqlite": ["DROP TRIGGER refuse_hold"],
    "postgresql": ["DROP TRIGGER refuse_hold ON audit_entries"],
}


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    """A migrated store on each backend."""
    opened = SqlStore.open(db_url, migrate=True)
    yield opened
    opened.dispose()


@pytest.fixture
def engine(store: SqlStore, clock: ManualClock) -> Engine:
    """An engine over the store."""
    return Engine(store, clock=clock)


def _execute(store: SqlStore, *statements: str, **params: object) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement), params)


class TestUnreachable:
    """An unreachable database raises StoreUnavailable naming the URL without its password."""

    @pytest.mark.parametrize("durability", ["full", "normal"])
    def test_postgres_port_without_server(self, durability: str) -> None:
        """Nothing listening on the port: the error names host and port, not the password."""
        url = f"postgresql+psycopg://psirf:{HIDDEN}@127.0.0.1:1/nowhere"
        with pytest.raises(StoreUnavailable) as raised:
            SqlStore.open(url, durability=durability)  # type: ignore[arg-type]
        message = str(raised.value)
        assert HIDDEN not in message
        assert HIDDEN not in raised.value.url
        assert "127.0.0.1:1/nowhere" in message
        assert "***" in raised.value.url
        assert isinstance(raised.value.__cause__, sa.exc.OperationalError)

    def test_upgrade_of_unreachable_database(self) -> None:
        """Migrating an unreachable database raises StoreUnavailable too."""
        with pytest.raises(StoreUnavailable, match=re.escape("127.0.0.1:1")) as raised:
            upgrade(f"postgresql+psycopg://psirf:{HIDDEN}@127.0.0.1:1/nowhere")
        assert HIDDEN not in str(raised.value)

    def test_sqlite_file_in_missing_directory(self, tmp_path: Path) -> None:
        """A SQLite file that cannot be opened raises StoreUnavailable naming the file."""
        path = tmp_path / "missing" / "cases.sqlite3"
        with pytest.raises(StoreUnavailable, match=re.escape("cases.sqlite3")):
            SqlStore.open(str(path))

    def test_unknown_driver(self) -> None:
        """A URL naming no installed driver raises StoreError, naming the URL."""
        with pytest.raises(StoreError, match="nosuchdb"):
            make_engine(f"nosuchdb://user:{HIDDEN}@host/db")

    def test_unknown_durability(self, tmp_path: Path) -> None:
        """Only 'full' and 'normal' durability exist."""
        with pytest.raises(ValueError, match="durability"):
            make_engine(str(tmp_path / "x.sqlite3"), durability="off")  # type: ignore[arg-type]


class TestCorruptRows:
    """Rows the library cannot read back raise CorruptRecord naming the case."""

    def test_unknown_state_names_case_and_state(self, store: SqlStore, engine: Engine) -> None:
        """A case row in a state its definition lacks is refused on fire and on options."""
        engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        _execute(store, "UPDATE cases SET state = 'limbo' WHERE id = 'C-1'")
        with pytest.raises(CorruptRecord, match=r"'C-1'.*'limbo'") as fired:
            engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
        assert fired.value.case_id == "C-1"
        with pytest.raises(CorruptRecord, match="limbo"):
            engine.options("C-1", EXECUTIVE)
        assert len(store.history("C-1")) == 1

    def test_unknown_workflow_version(self, store: SqlStore, engine: Engine) -> None:
        """A case pinned to a definition version the engine lacks is refused."""
        engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        _execute(store, "UPDATE cases SET workflow_version = '99' WHERE id = 'C-1'")
        with pytest.raises(CorruptRecord, match=r"psii@99"):
            engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})

    @pytest.mark.parametrize(
        ("statement", "read"),
        [
            ("UPDATE cases SET facts = '{not json' WHERE id = 'C-1'", "load"),
            ("UPDATE cases SET facts = '[1, 2]' WHERE id = 'C-1'", "load"),
            ("UPDATE cases SET facts = '{\"x\": 1.5}' WHERE id = 'C-1'", "load"),
            ("UPDATE audit_entries SET data = 'nope' WHERE case_id = 'C-1'", "history"),
            ("UPDATE audit_entries SET guards = '[[1]]' WHERE case_id = 'C-1'", "history"),
            ("UPDATE audit_entries SET guards = '{}' WHERE case_id = 'C-1'", "history"),
            ("UPDATE audit_entries SET rules = '[1]' WHERE case_id = 'C-1'", "history"),
            ("UPDATE outbox SET body = '\"x\"' WHERE case_id = 'C-1'", "outbox"),
        ],
        ids=[
            "facts-not-json",
            "facts-not-object",
            "facts-float",
            "data-not-json",
            "guards-bad-item",
            "guards-not-list",
            "rules-not-text",
            "outbox-body",
        ],
    )
    def test_undecodable_rows(
        self, store: SqlStore, engine: Engine, clock: ManualClock, statement: str, read: str
    ) -> None:
        """Malformed JSON or values raise CorruptRecord naming the case."""
        engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        _execute(
            store,
            "INSERT INTO outbox (message_id, case_id, kind, body, created_at) "
            "VALUES ('m-1', 'C-1', 'k', '{}', :at)",
            at=clock.now(),
        )
        _execute(store, statement)
        reader = {"load": store.load, "history": store.history, "outbox": store.outbox}[read]
        with pytest.raises(CorruptRecord, match="'C-1'"):
            reader("C-1")


class TestFailingCommit:
    """A commit the database refuses leaves the previous state intact and loadable."""

    def test_refused_write_keeps_previous_state(
        self, store: SqlStore, engine: Engine, clock: ManualClock
    ) -> None:
        """A trigger failing the audit insert rolls back the case update; later work goes on."""
        engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        before = (store.load("C-1"), tuple(store.history("C-1")))
        dialect = store.engine.dialect.name
        _execute(store, *REFUSE_HOLD[dialect])
        with pytest.raises(StoreError, match="refused by test") as raised:
            engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
        assert raised.value.__cause__ is not None
        assert (store.load("C-1"), tuple(store.history("C-1"))) == before
        _execute(store, *ALLOW_HOLD[dialect])
        held = engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
        assert held.entry.sequence == 2
        assert engine.verify("C-1", reader=READER).ok

    @pytest.mark.postgres
    def test_dropped_connections_raise_unavailable_then_recover(
        self, pg_url: str, clock: ManualClock
    ) -> None:
        """When the server drops every connection, one call fails clearly; the next works."""
        store = SqlStore.open(pg_url, migrate=True)
        try:
            engine = Engine(store, clock=clock)
            engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
            admin = sa.create_engine(sa.make_url(pg_url), poolclass=sa.NullPool)
            with admin.begin() as connection:
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            admin.dispose()
            with pytest.raises(StoreUnavailable):
                engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
            held = engine.fire("C-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
            assert held.entry.sequence == 2
            assert engine.verify("C-1", reader=READER).ok
        finally:
            store.dispose()
