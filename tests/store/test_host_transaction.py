"""Running commands inside a transaction the host application already holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Case, CaseQuery, Command, ConcurrencyConflict, Engine, Role, decide
from psirf_flow.domain import SystemReader
from psirf_flow.ports import Change
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"]}

HOST = sa.MetaData()
NOTES = sa.Table(
    "host_notes",
    HOST,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.String(128), nullable=False),
)


class HostFailure(Exception):
    """The host application's own failure after the workflow wrote."""


@pytest.fixture
def owner(db_url: str) -> Iterator[SqlStore]:
    """A migrated store whose engine the host also uses, with the host's own table."""
    store = SqlStore.open(db_url, migrate=True)
    HOST.create_all(store.engine)
    yield store
    store.dispose()


def _notes(store: SqlStore) -> list[str]:
    with store.engine.connect() as connection:
        return list(connection.execute(sa.select(NOTES.c.case_id).order_by(NOTES.c.id)).scalars())


def _stale_hold(engine: Engine, stale: Case, clock: ManualClock) -> Change:
    command = Command("hold", EXECUTIVE, {"hold_reason": "family_request"})
    decision = decide(engine.definition_for(stale), stale, command, now=clock.now())
    return Change(decision.case, stale.version, decision.entry)


class TestHostTransaction:
    """The host's writes and the workflow's commit or roll back together."""

    def test_host_commit_keeps_both(self, owner: SqlStore, clock: ManualClock) -> None:
        """When the host commits, its row and the opened case are both there."""
        with owner.engine.begin() as connection:
            engine = Engine(SqlStore.bind(connection), clock=clock)
            opened = engine.open("psii", actor=PSS, payload=OPENING, case_id="H-1")
            connection.execute(sa.insert(NOTES).values(case_id=opened.case.id))
        assert owner.load("H-1") == opened.case
        assert _notes(owner) == ["H-1"]
        assert Engine(owner, clock=clock).verify("H-1", reader=READER).ok

    def test_host_rollback_discards_both(self, owner: SqlStore, clock: ManualClock) -> None:
        """When the host fails after the command, neither its row nor the case remains."""

        def host_work() -> None:
            with owner.engine.begin() as connection:
                engine = Engine(SqlStore.bind(connection), clock=clock)
                engine.open("psii", actor=PSS, payload=OPENING, case_id="H-1")
                connection.execute(sa.insert(NOTES).values(case_id="H-1"))
                raise HostFailure

        with pytest.raises(HostFailure):
            host_work()
        assert owner.list_cases(CaseQuery()).items == ()
        assert tuple(owner.history("H-1")) == ()
        assert _notes(owner) == []

    def test_uncommitted_work_is_invisible_to_others(
        self, owner: SqlStore, clock: ManualClock
    ) -> None:
        """Until the host commits, other connections do not see the case."""
        with owner.engine.connect() as connection:
            connection.begin()
            Engine(SqlStore.bind(connection), clock=clock).open(
                "psii", actor=PSS, payload=OPENING, case_id="H-1"
            )
            assert owner.list_cases(CaseQuery()).items == ()
            connection.commit()
        assert owner.load("H-1").version == 1

    def test_refused_change_leaves_the_host_transaction_usable(
        self, owner: SqlStore, clock: ManualClock
    ) -> None:
        """A conflicting change rolls back to its savepoint; the host goes on and commits."""
        Engine(owner, clock=clock).open("psii", actor=PSS, payload=OPENING, case_id="H-1")
        with owner.engine.begin() as connection:
            bound = SqlStore.bind(connection)
            engine = Engine(bound, clock=clock)
            stale = bound.load("H-1")
            engine.fire("H-1", "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
            with pytest.raises(ConcurrencyConflict):
                bound.commit(_stale_hold(engine, stale, clock))
            connection.execute(sa.insert(NOTES).values(case_id="H-1"))
            engine.fire("H-1", "resume", actor=EXECUTIVE)
        assert [e.trigger for e in owner.history("H-1")] == [
            "open",
            "hold",
            "resume",
        ]
        assert _notes(owner) == ["H-1"]
        assert Engine(owner, clock=clock).verify("H-1", reader=READER).ok

    def test_bind_without_a_transaction_begins_one_for_the_host(
        self, owner: SqlStore, clock: ManualClock
    ) -> None:
        """On an idle connection the first change begins a transaction the host commits."""
        with owner.engine.connect() as connection:
            Engine(SqlStore.bind(connection), clock=clock).open(
                "psii", actor=PSS, payload=OPENING, case_id="H-1"
            )
            assert connection.in_transaction()
            connection.rollback()
        assert owner.list_cases(CaseQuery()).items == ()
