"""The write cache of a store made by ``SqlStore.open``: checked by every commit, never trusted.

A second store on the same database plays another process. Each test warms the first
store's cache (it commits the case), changes the database behind it, and checks that the
next command is decided on what the database holds: decided again after another process's
commit, refused as corrupt after a tampered row, refused as a conflict when the caller's
own version is stale, and nothing written on any failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    ConcurrencyConflict,
    CorruptRecord,
    Engine,
    Role,
    StoreError,
    TransitionNotAllowed,
)
from psirf_flow.domain import SystemReader
from psirf_flow.ports import WriteCache
from psirf_flow.store.sql import SqlStore
from psirf_flow.store.sql import store as sql_store
from psirf_flow.store.sql.schema import AUDIT_ENTRIES, CASES
from psirf_flow.sweeper import Sweeper
from psirf_flow.testing import ManualClock


READER = SystemReader("test-suite")
ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
LEAD = Actor("l-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ASSIGN = {"lead_id": "l-1", "engagement_lead_id": "e-1"}


@pytest.fixture(name="stores")
def _stores(db_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    first = SqlStore.open(db_url, migrate=True)
    second = SqlStore.open(db_url)
    yield first, second
    first.dispose()
    second.dispose()


def _engine(store: SqlStore) -> Engine:
    return Engine(store, clock=ManualClock(START))


def _opened(engine: Engine, case_id: str = "C-1") -> str:
    engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id=case_id)
    engine.fire(case_id, "assign_lead", actor=PSS, payload=ASSIGN)
    return case_id


def _counts(store: SqlStore, case_id: str) -> tuple[int, int]:
    with store.engine.connect() as connection:
        entries = connection.execute(
            sa.select(sa.func.count()).where(AUDIT_ENTRIES.c.case_id == case_id)
        ).scalar_one()
        version = connection.execute(
            sa.select(CASES.c.version).where(CASES.c.id == case_id)
        ).scalar_one()
    return int(entries), int(version)


def _statements(store: SqlStore) -> tuple[list[str], Any]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]).lstrip().split()[0].upper())

    sa.event.listen(store.engine, "before_cursor_execute", count)
    return seen, count


class TestWriteCache:
    """The engine's write-path load comes from the cache; the database still decides."""

    def test_an_opened_store_is_a_write_cache(self, stores: tuple[SqlStore, SqlStore]) -> None:
        """A store made by open (not read-only) offers forget_stale to the engine."""
        first, _ = stores
        assert isinstance(first, WriteCache)
        assert first.forget_stale("nobody") is False

    def test_a_warm_case_is_loaded_without_a_query(self, stores: tuple[SqlStore, SqlStore]) -> None:
        """After a commit, the engine's next load of that case reads nothing."""
        first, _ = stores
        engine = _engine(first)
        case_id = _opened(engine)
        seen, count = _statements(first)
        try:
            case, head = first.load_with_head(case_id)
        finally:
            sa.event.remove(first.engine, "before_cursor_execute", count)
        assert seen == []
        assert head is not None
        assert (case.version, head.sequence, head.hash) == (2, 2, case.head_hash)

    def test_reads_other_than_the_write_load_go_to_the_database(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """Reads by get and history show another process's commit at once."""
        first, second = stores
        case_id = _opened(_engine(first))
        _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        reader = _engine(first)
        assert reader.get(case_id, reader=READER).version == 3
        assert len(reader.history(case_id, reader=READER)) == 3

    def test_another_process_commit_is_decided_again_on_the_fresh_case(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A stale cache is not the caller's conflict: the command runs on the stored case."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        outcome = engine.fire(case_id, "resume", actor=EXEC)
        assert (outcome.case.version, outcome.case.state, outcome.entry.sequence) == (
            4,
            "planning",
            4,
        )
        assert _engine(first).verify(case_id, reader=READER).ok
        assert _counts(first, case_id) == (4, 4)

    def test_a_step_the_fresh_case_refuses_is_refused_and_writes_nothing(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """Decided again on the stored case, a step no longer allowed is rejected."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        with pytest.raises(TransitionNotAllowed) as raised:
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        assert not isinstance(raised.value, ConcurrencyConflict)
        assert _counts(first, case_id) == (3, 3)

    def test_a_tampered_row_with_the_cache_warm_is_corrupt(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A row changed behind the engine's back matches no cached write; the reload says so."""
        first, _ = stores
        engine = _engine(first)
        case_id = _opened(engine)
        with first.engine.begin() as connection:
            connection.execute(CASES.update().where(CASES.c.id == case_id).values(state="closed"))
        with pytest.raises(CorruptRecord):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        entries, _ = _counts(first, case_id)
        assert entries == 2

    def test_a_tampered_head_entry_with_the_cache_warm_is_corrupt(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A head entry whose case digest was rewritten is refused as on a fresh load."""
        first, _ = stores
        engine = _engine(first)
        case_id = _opened(engine)
        with first.engine.begin() as connection:
            connection.execute(
                AUDIT_ENTRIES.update()
                .where(AUDIT_ENTRIES.c.case_id == case_id, AUDIT_ENTRIES.c.sequence == 2)
                .values(case_digest="0" * 64)
            )
        with pytest.raises(CorruptRecord):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        assert _counts(first, case_id) == (2, 2)

    def test_a_stale_expected_version_is_still_a_conflict(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A caller's own stale version is a real conflict, after a fresh read."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        with pytest.raises(ConcurrencyConflict) as raised:
            engine.fire(case_id, "resume", actor=EXEC, expected_version=2)
        assert raised.value.current_version == 3
        assert _counts(first, case_id) == (3, 3)

    def test_the_callers_fresh_expected_version_is_accepted(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A version newer than the cache's (written by another process) is not refused."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        outcome = engine.fire(case_id, "resume", actor=EXEC, expected_version=3)
        assert outcome.case.version == 4

    def test_a_real_conflict_on_a_fresh_read_raises(
        self, stores: tuple[SqlStore, SqlStore], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A command decided on a database read that loses the race is the caller's conflict."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        first.forget_stale(case_id)  # the next load reads the database
        commit = first.commit

        def racing(change: Any) -> None:
            # Another process commits between this command's read and its write.
            _engine(second).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
            monkeypatch.setattr(first, "commit", commit)
            commit(change)

        monkeypatch.setattr(first, "commit", racing)
        with pytest.raises(ConcurrencyConflict):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        assert _counts(first, case_id) == (3, 3)

    def test_what_a_commit_caches_is_what_the_database_reads_back(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """After each commit the cached case, head, deadlines and tiers equal a fresh read."""
        first, second = stores
        engine = _engine(first)
        case_id = _opened(engine)
        steps: list[tuple[str, Actor, dict[str, object]]] = [
            ("hold", EXEC, {"hold_reason": "other"}),
            ("resume", EXEC, {}),
            (
                "record_terms_of_reference",
                LEAD,
                {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
            ),
        ]
        for trigger, actor, payload in steps:
            first.load_with_head(case_id)
            first.deadlines(case_id)  # read inside the write window: kept with the case
            first.escalations(case_id)
            engine.fire(case_id, trigger, actor=actor, payload=payload)
            cache = first._cache
            assert cache is not None
            cached = cache.clocks(case_id)
            assert cached is not None
            second.forget_stale(case_id)  # its own cache: read the database
            assert (cached.case, cached.head) == second.load_with_head(case_id)
            assert cached.deadlines == tuple(second.deadlines(case_id))
            assert cached.tiers == tuple(second.escalations(case_id))

    def test_deadlines_outside_the_write_window_read_the_database(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A caller's own deadlines read after a commit is a query, not the cache."""
        first, _ = stores
        case_id = _opened(_engine(first))
        seen, count = _statements(first)
        try:
            first.deadlines(case_id)
            first.escalations(case_id)
        finally:
            sa.event.remove(first.engine, "before_cursor_execute", count)
        assert seen == ["SELECT", "SELECT"]

    def test_deadlines_after_a_failed_write_read_the_database(
        self, stores: tuple[SqlStore, SqlStore], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A write that fails after its cached load is closed: the clocks are read afresh."""
        first, _ = stores
        engine = _engine(first)
        case_id = _opened(engine)

        def failing(change: object) -> None:
            raise StoreError("the database went away")

        monkeypatch.setattr(first, "commit", failing)
        with pytest.raises(StoreError):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        seen, count = _statements(first)
        try:
            first.deadlines(case_id)
            first.escalations(case_id)
        finally:
            sa.event.remove(first.engine, "before_cursor_execute", count)
        assert seen == ["SELECT", "SELECT"]

    def test_a_tier_another_process_rearmed_is_fired_by_a_warm_sweeper(
        self, stores: tuple[SqlStore, SqlStore]
    ) -> None:
        """A sweeper whose cache saw the tiers paused fires them once another process resumed."""
        first, second = stores
        clock = ManualClock(START)
        engine = Engine(first, clock=clock)
        case_id = _opened(engine)
        engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        Engine(second, clock=clock).fire(case_id, "resume", actor=EXEC)
        clock.set(START + timedelta(days=200))
        report = Sweeper(engine).sweep()
        assert (report.claimed, report.fired, report.skipped) == (2, 2, 0)
        assert {tier.status for tier in second.escalations(case_id)} == {"fired"}

    def test_the_cache_is_bounded(
        self, stores: tuple[SqlStore, SqlStore], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The least recently used case leaves the cache when it is full."""
        monkeypatch.setattr(sql_store, "CACHE_SIZE", 2)
        first, _ = stores
        store = SqlStore.open(first.engine.url)
        try:
            engine = _engine(store)
            for n in range(4):
                engine.open(
                    "psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id=f"C-{n}"
                )
            cache = store._cache
            assert cache is not None
            assert len(cache) == 2
            assert cache.serve("C-0") is None
            assert cache.serve("C-3") is not None
        finally:
            store.dispose()


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=5),
    touches=st.lists(st.integers(min_value=0, max_value=9), max_size=40),
)
def test_the_lru_never_holds_more_than_its_size(size: int, touches: list[int]) -> None:
    """Whatever is remembered, the cache holds at most its size, the latest ones."""
    cache = sql_store._WriteCache(size)
    from psirf_flow.domain import Case

    latest: list[str] = []
    for n in touches:
        case = Case(
            id=f"C-{n}",
            workflow="psii",
            workflow_version="1",
            organisation=ORG,
            state="open",
            version=1,
            facts={},
            opened_at=START,
            updated_at=START,
            head_hash="0" * 64,
        )
        cache.remember(case, None)
        latest = [c for c in latest if c != case.id] + [case.id]
    assert len(cache) == min(size, len(latest))
    assert all(cache.serve(c) is not None for c in latest[-size:])


_PATH: tuple[tuple[str, Actor, dict[str, object]], ...] = (
    ("assign_lead", PSS, ASSIGN),
    ("hold", EXEC, {"hold_reason": "other"}),
    ("resume", EXEC, {}),
    (
        "record_terms_of_reference",
        LEAD,
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    ),
    ("hold", EXEC, {"hold_reason": "external_process"}),
    ("resume", EXEC, {}),
)


def _table_rows(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    from psirf_flow.store.sql.schema import metadata

    found = {}
    with store.engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            found[name] = [tuple(r) for r in connection.execute(sa.select(table).order_by(*order))]
    return found


@settings(max_examples=6, deadline=None)
@given(steps=st.integers(min_value=1, max_value=len(_PATH)))
def test_the_direct_path_writes_what_sqlalchemy_writes(steps: int) -> None:
    """Statements run on the driver's cursor leave the same rows as SQLAlchemy's path."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        direct = SqlStore.open(str(Path(folder) / "direct.sqlite3"), migrate=True)
        through = SqlStore.open(str(Path(folder) / "through.sqlite3"), migrate=True)
        # A listener on its statements makes SQLAlchemy run every statement of this one.
        sa.event.listen(through.engine, "before_cursor_execute", lambda *_: None)
        try:
            for store in (direct, through):
                engine = _engine(store)
                engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id="C-1")
                for trigger, actor, payload in _PATH[:steps]:
                    engine.fire("C-1", trigger, actor=actor, payload=payload)
            assert _table_rows(direct) == _table_rows(through)
        finally:
            direct.dispose()
            through.dispose()
