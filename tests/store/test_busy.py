"""A lock held past the busy timeout is a retryable ``StoreBusy``; bad paths are StoreErrors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from psirf_flow import (
    Actor,
    Engine,
    Outcome,
    RetryableError,
    Role,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from psirf_flow.store.sql import SqlStore, make_engine
from psirf_flow.testing import ManualClock


PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"]}
HOLD = {"hold_reason": "other"}
#: Short enough to keep the test fast, long enough to be a real wait.
SHORT_WAIT = 0.05


def fire_with_retry(
    engine: Engine,
    case_id: str,
    trigger: str,
    *,
    wait: Callable[[float], None],
    attempts: int = 3,
    **kwargs: Any,
) -> Outcome:
    """The documented retry recipe: retry what is retryable, a few times, then give up."""
    for attempt in range(1, attempts + 1):
        try:
            return engine.fire(case_id, trigger, **kwargs)
        except RetryableError:
            if attempt == attempts:
                raise
            wait(0.1 * attempt)
    raise AssertionError("unreachable")


@pytest.fixture
def seeded(sqlite_path: str, clock: ManualClock) -> str:
    """A migrated SQLite file holding case C-1 at version 1."""
    store = SqlStore.open(sqlite_path, migrate=True)
    Engine(store, clock=clock).open("psii", actor=PSS, payload=OPENING, case_id="C-1")
    store.dispose()
    return sqlite_path


@pytest.fixture
def holder(seeded: str) -> Iterator[sqlite3.Connection]:
    """A second, raw connection to the file that holds its write lock until rolled back."""
    connection = sqlite3.connect(seeded, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    yield connection
    if connection.in_transaction:
        connection.rollback()
    connection.close()


@pytest.fixture
def impatient(seeded: str) -> Iterator[SqlStore]:
    """A store on the same file that waits only briefly for another writer's lock."""
    store = SqlStore.open(seeded, busy_timeout=SHORT_WAIT)
    yield store
    store.dispose()


class TestSqliteBusy:
    """Two real connections on one SQLite file: one holds the write lock."""

    def test_lock_past_the_timeout_is_store_busy(
        self, holder: sqlite3.Connection, impatient: SqlStore, clock: ManualClock
    ) -> None:
        """The waiting writer gives up with StoreBusy, a retryable StoreError; nothing written."""
        engine = Engine(impatient, clock=clock)

        with pytest.raises(StoreBusy) as raised:
            engine.fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)

        assert isinstance(raised.value, RetryableError)
        assert isinstance(raised.value, StoreError)
        assert raised.value.code == "PSF404"
        assert "cases.sqlite3" in raised.value.url
        assert "database is locked" in str(raised.value)
        assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
        holder.rollback()
        assert impatient.load("C-1").version == 1
        assert len(impatient.history("C-1")) == 1

    def test_retry_recipe_succeeds_once_the_lock_is_released(
        self, holder: sqlite3.Connection, impatient: SqlStore, clock: ManualClock
    ) -> None:
        """One ``except RetryableError`` loop rides out the lock, writing the step once."""
        waits: list[float] = []

        def release_then_wait(seconds: float) -> None:
            waits.append(seconds)
            holder.rollback()  # the other writer finishes while we back off

        outcome = fire_with_retry(
            Engine(impatient, clock=clock),
            "C-1",
            "hold",
            wait=release_then_wait,
            actor=EXECUTIVE,
            payload=HOLD,
            idempotency_key="k-1",
        )

        assert waits == [0.1]
        assert (outcome.case.version, outcome.entry.trigger) == (2, "hold")
        assert [e.trigger for e in impatient.history("C-1")] == ["open", "hold"]

    def test_retry_recipe_gives_up_after_its_attempts(
        self, holder: sqlite3.Connection, impatient: SqlStore, clock: ManualClock
    ) -> None:
        """A lock that is never released surfaces as StoreBusy after the last attempt."""
        waits: list[float] = []

        with pytest.raises(StoreBusy):
            fire_with_retry(
                Engine(impatient, clock=clock),
                "C-1",
                "hold",
                wait=waits.append,
                actor=EXECUTIVE,
                payload=HOLD,
            )

        assert waits == [0.1, 0.2]

    def test_readers_are_not_blocked_by_a_writer(
        self, holder: sqlite3.Connection, impatient: SqlStore
    ) -> None:
        """In WAL mode a held write lock does not stop reads."""
        assert impatient.load("C-1").version == 1


def test_lock_met_while_connecting_is_store_busy(tmp_path: Path) -> None:
    """A file locked exclusively while a connection sets it up gives StoreBusy, not Unavailable."""
    path = str(tmp_path / "locked.sqlite3")
    holding = sqlite3.connect(path, isolation_level=None)
    holding.execute("CREATE TABLE t (x INTEGER)")
    holding.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreBusy) as raised:
            SqlStore.open(path, busy_timeout=SHORT_WAIT)
    finally:
        holding.rollback()
        holding.close()

    assert "locked.sqlite3" in raised.value.url


@pytest.mark.postgres
def test_postgres_lock_timeout_is_store_busy(pg_url: str, clock: ManualClock) -> None:
    """On PostgreSQL a row lock held past ``busy_timeout`` (lock_timeout) is StoreBusy."""
    owner = SqlStore.open(pg_url, migrate=True)
    impatient = SqlStore.open(pg_url, busy_timeout=SHORT_WAIT)
    try:
        Engine(owner, clock=clock).open("psii", actor=PSS, payload=OPENING, case_id="C-1")
        with owner.engine.connect() as holding, holding.begin():
            holding.execute(sa.text("SELECT id FROM cases WHERE id = 'C-1' FOR UPDATE"))
            with pytest.raises(StoreBusy) as raised:
                Engine(impatient, clock=clock).fire("C-1", "hold", actor=EXECUTIVE, payload=HOLD)
        assert isinstance(raised.value, RetryableError)
        assert raised.value.__cause__ is not None
        assert getattr(raised.value.__cause__.__cause__, "sqlstate", None) == "55P03"
        assert owner.load("C-1").version == 1
    finally:
        impatient.dispose()
        owner.dispose()


class TestBadPathsAndTimeouts:
    """Paths and timeouts the driver cannot use are psirf_flow errors or clear ValueErrors."""

    @pytest.mark.parametrize("opener", ["make_engine", "open", "open_read_only"])
    def test_nul_in_a_sqlite_path_is_a_store_error(self, tmp_path: Path, opener: str) -> None:
        """A NUL character in a file path raises StoreError, never a raw ValueError."""
        path = str(tmp_path / "bad\x00name.sqlite3")
        openers: dict[str, Callable[[], object]] = {
            "make_engine": lambda: make_engine(path),
            "open": lambda: SqlStore.open(path),
            "open_read_only": lambda: SqlStore.open(path, read_only=True),
        }

        with pytest.raises(StoreError, match="NUL") as raised:
            openers[opener]()

        assert not isinstance(raised.value, StoreUnavailable)
        assert "\x00" not in str(raised.value)
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")])
    def test_busy_timeout_must_be_seconds(self, tmp_path: Path, timeout: float) -> None:
        """A negative or non-finite busy timeout is a programming error."""
        with pytest.raises(ValueError, match="busy_timeout"):
            make_engine(str(tmp_path / "x.sqlite3"), busy_timeout=timeout)

    @pytest.mark.parametrize(("given", "expected_ms"), [(None, 30_000), (0.25, 250), (0, 0)])
    def test_busy_timeout_sets_the_pragma(
        self, tmp_path: Path, given: float | None, expected_ms: int
    ) -> None:
        """SQLite's busy timeout is 30 s unless given, in seconds."""
        engine = make_engine(str(tmp_path / "x.sqlite3"), busy_timeout=given)
        try:
            with engine.connect() as connection:
                found = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        finally:
            engine.dispose()
        assert found == expected_ms
