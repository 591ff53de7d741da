"""``fire(..., expected_version=N)`` and the version a conflict reports, on every store."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from psirf_flow import (
    Actor,
    ConcurrencyConflict,
    Engine,
    InMemoryStore,
    RetryableError,
    Role,
    TransitionNotAllowed,
    decide,
)
from psirf_flow.domain import Command
from psirf_flow.ports import Change, Store
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"]}
HOLD = {"hold_reason": "other"}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh store: in memory, on a SQLite file, on a PostgreSQL schema."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    fixture = "sqlite_path" if request.param == "sqlite" else "pg_url"
    opened = SqlStore.open(str(request.getfixturevalue(fixture)), migrate=True)
    yield opened
    opened.dispose()


@pytest.fixture
def engine(store: Store, clock: ManualClock) -> Engine:
    """An engine over the store, with one PSII opened as case C-1 (version 1)."""
    engine = Engine(store, clock=clock)
    engine.open("psii", actor=PSS, payload=OPENING, case_id="C-1")
    return engine


def _snapshot(store: Store) -> tuple[object, ...]:
    return store.load("C-1"), tuple(store.history("C-1"))


class TestExpectedVersion:
    """A caller may state the version they saw; another version refuses the command."""

    def test_matching_version_fires(self, engine: Engine) -> None:
        """The version the caller saw is the case's: the step is taken as usual."""
        held = engine.fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD, expected_version=1)

        assert (held.case.state, held.case.version, held.entry.sequence) == ("on_hold", 2, 2)

    def test_stale_version_is_refused_and_writes_nothing(
        self, engine: Engine, store: Store
    ) -> None:
        """A case that moved on since the caller looked is refused with both versions."""
        engine.fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)
        before = _snapshot(store)

        with pytest.raises(ConcurrencyConflict) as raised:
            engine.fire("C-1", "resume", actor=EXECUTIVE, expected_version=1)

        assert isinstance(raised.value, RetryableError)
        assert (raised.value.case_id, raised.value.expected_version) == ("C-1", 1)
        assert raised.value.current_version == 2
        assert _snapshot(store) == before

    def test_version_is_checked_before_deciding(self, engine: Engine, store: Store) -> None:
        """A stale command the rules would refuse is a conflict, not a rejection."""
        before = _snapshot(store)

        with pytest.raises(ConcurrencyConflict) as raised:
            engine.fire("C-1", "resume", actor=EXECUTIVE, expected_version=7)
        with pytest.raises(TransitionNotAllowed):
            engine.fire("C-1", "resume", actor=EXECUTIVE, expected_version=1)

        assert (raised.value.expected_version, raised.value.current_version) == (7, 1)
        assert _snapshot(store) == before

    def test_a_replayed_key_answers_before_the_version_check(self, engine: Engine) -> None:
        """Resending a committed command with its key returns the first result."""
        first = engine.fire(
            "C-1", "hold", actor=EXECUTIVE, payload=HOLD, idempotency_key="k-1", expected_version=1
        )

        again = engine.fire(
            "C-1", "hold", actor=EXECUTIVE, payload=HOLD, idempotency_key="k-1", expected_version=1
        )

        assert again.replayed
        assert again.entry == first.entry


class TestConflictReportsTheVersionFound:
    """A store's version-checked commit says which version it found instead."""

    def test_stale_commit_names_the_current_version(
        self, engine: Engine, store: Store, clock: ManualClock
    ) -> None:
        """A change decided against version 1 of a case now at version 2 reports 2."""
        stale = store.load("C-1")
        command = Command("hold", EXECUTIVE, HOLD)
        decision = decide(engine.definition_for(stale), stale, command, now=clock.now())
        engine.fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)
        before = _snapshot(store)

        with pytest.raises(ConcurrencyConflict) as raised:
            store.commit(Change(decision.case, stale.version, decision.entry))

        assert (raised.value.expected_version, raised.value.current_version) == (1, 2)
        assert _snapshot(store) == before

    def test_commit_to_a_missing_case_knows_no_version(
        self, engine: Engine, store: Store, clock: ManualClock
    ) -> None:
        """A change expecting a case that does not exist reports no current version."""
        case = store.load("C-1")
        decision = decide(
            engine.definition_for(case), case, Command("hold", EXECUTIVE, HOLD), now=clock.now()
        )
        ghost = attrs.evolve(decision.case, id="C-404")
        entry = attrs.evolve(decision.entry, case_id="C-404")

        with pytest.raises(ConcurrencyConflict) as raised:
            store.commit(Change(ghost, 1, entry))

        assert (raised.value.case_id, raised.value.current_version) == ("C-404", None)
