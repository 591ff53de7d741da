"""The in-memory store, the reference adapter: atomic, version-checked commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from psirf_flow import (
    CaseAlreadyExists,
    CaseNotFound,
    CaseQuery,
    Clock,
    ConcurrencyConflict,
    Engine,
    InMemoryStore,
    Store,
    StoreError,
    SystemClock,
)
from psirf_flow.domain import Case, Deadline, OutboxMessage, SystemReader
from psirf_flow.ports import Change, IdempotencyRecord
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

WHEN = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _next_change(engine: Engine, lifecycle: Any, **extra: Any) -> tuple[Case, Change]:
    """An open case and a valid change that would record its terms of reference."""
    case = lifecycle.to("planning")
    outcome_case = attrs.evolve(case, version=case.version + 1)
    entry = attrs.evolve(engine.history(case.id, reader=READER)[-1], sequence=case.version + 1)
    return case, Change(case=outcome_case, expected_version=case.version, entry=entry, **extra)


class TestCommit:
    """A commit is checked, then applied whole."""

    def test_deadlines_and_outbox_are_written_with_the_change(
        self, engine: Engine, lifecycle: Any, store: InMemoryStore
    ) -> None:
        """Deadlines (replaced by case, kind and cycle) and outbox messages go in one commit."""
        first = Deadline(
            case_id="case-0001",
            kind="psii_target",
            started_at=WHEN,
            due_at=WHEN + timedelta(days=90),
        )
        moved = attrs.evolve(first, due_at=WHEN + timedelta(days=120), tier=1)
        message = OutboxMessage("m-1", "case-0001", "coupling.x", {"k": "v"}, WHEN)
        case, change = _next_change(engine, lifecycle, deadlines=(first, moved), outbox=(message,))

        store.commit(change)

        # The engine's own clocks (the lead's target and cap) are left out.
        assert [d for d in store.deadlines(case.id) if d.kind == "psii_target"] == [moved]
        assert store.outbox(case.id) == (message,)
        assert store.load(case.id).version == case.version + 1

    @pytest.mark.parametrize(
        ("extra", "words"),
        [
            pytest.param(
                {
                    "deadlines": (
                        Deadline(case_id="case-other", kind="k", started_at=WHEN, due_at=WHEN),
                    )
                },
                "belongs to another case",
                id="deadline-of-another-case",
            ),
            pytest.param(
                {
                    "outbox": (
                        OutboxMessage("m-1", "case-0001", "k", {}, WHEN),
                        OutboxMessage("m-1", "case-0001", "k", {}, WHEN),
                    )
                },
                "already exists",
                id="duplicate-outbox-id",
            ),
        ],
    )
    def test_bad_change_leaves_no_trace(
        self,
        engine: Engine,
        lifecycle: Any,
        store: InMemoryStore,
        extra: dict[str, Any],
        words: str,
    ) -> None:
        """A change that fails a check writes nothing at all."""
        case, change = _next_change(engine, lifecycle, **extra)
        history = store.history(case.id)
        deadlines = store.deadlines(case.id)

        with pytest.raises(StoreError, match=words):
            store.commit(change)

        assert store.load(case.id) == case
        assert store.history(case.id) == history
        assert store.deadlines(case.id) == deadlines
        assert store.outbox(case.id) == ()

    def test_outbox_ids_are_unique_across_commits(
        self, engine: Engine, lifecycle: Any, store: InMemoryStore
    ) -> None:
        """An outbox id used by an earlier commit is refused later."""
        message = OutboxMessage("m-1", "case-0001", "k", {}, WHEN)
        case, change = _next_change(engine, lifecycle, outbox=(message,))
        store.commit(change)
        again = attrs.evolve(
            change,
            case=attrs.evolve(change.case, version=change.case.version + 1),
            entry=attrs.evolve(change.entry, sequence=change.entry.sequence + 1),
            expected_version=change.case.version,
        )

        with pytest.raises(StoreError, match="already exists"):
            store.commit(again)
        assert store.load(case.id).version == change.case.version

    def test_sequence_must_follow(
        self, engine: Engine, lifecycle: Any, store: InMemoryStore
    ) -> None:
        """An entry whose sequence does not follow the trail is refused."""
        case, change = _next_change(engine, lifecycle)
        skipping = attrs.evolve(change, entry=attrs.evolve(change.entry, sequence=case.version + 2))

        with pytest.raises(StoreError, match="does not follow"):
            store.commit(skipping)

    def test_version_check(self, engine: Engine, lifecycle: Any, store: InMemoryStore) -> None:
        """A stale expected version, or a version for a missing case, conflicts."""
        case, change = _next_change(engine, lifecycle)

        with pytest.raises(ConcurrencyConflict):
            store.commit(attrs.evolve(change, expected_version=case.version - 1))
        with pytest.raises(ConcurrencyConflict):
            store.commit(
                attrs.evolve(
                    change, case=attrs.evolve(change.case, id="case-missing"), expected_version=1
                )
            )
        assert store.load(case.id) == case

    def test_creating_an_existing_case(
        self, engine: Engine, lifecycle: Any, store: InMemoryStore
    ) -> None:
        """Creating (expected version ``None``) a case that exists raises ``CaseAlreadyExists``."""
        case, change = _next_change(engine, lifecycle)

        with pytest.raises(CaseAlreadyExists):
            store.commit(attrs.evolve(change, expected_version=None))
        assert store.load(case.id) == case

    def test_taken_idempotency_key_conflicts(
        self, engine: Engine, lifecycle: Any, store: InMemoryStore
    ) -> None:
        """A key already recorded makes the commit conflict, so the engine re-reads it."""
        case, change = _next_change(engine, lifecycle)
        store.commit(
            attrs.evolve(
                change, idempotency=IdempotencyRecord("k", case.id, "f", change.entry.sequence)
            )
        )
        later = attrs.evolve(
            change,
            case=attrs.evolve(change.case, version=change.case.version + 1),
            entry=attrs.evolve(change.entry, sequence=change.entry.sequence + 1),
            expected_version=change.case.version,
            idempotency=IdempotencyRecord("k", case.id, "g", change.entry.sequence + 1),
        )

        with pytest.raises(ConcurrencyConflict):
            store.commit(later)
        assert store.find_idempotency("k") == IdempotencyRecord(
            "k", case.id, "f", change.entry.sequence
        )


class TestReads:
    """Reading from the store."""

    def test_unknown_case(self, store: InMemoryStore) -> None:
        """Loading an unknown case raises ``CaseNotFound``; its history is empty."""
        with pytest.raises(CaseNotFound):
            store.load("case-none")
        assert store.history("case-none") == ()
        assert store.deadlines("case-none") == ()
        assert store.outbox("case-none") == ()
        assert store.find_idempotency("none") is None

    def test_pages_are_stable(self, lifecycle: Any, store: InMemoryStore) -> None:
        """Keyset pages return every case once, in id order."""
        for _ in range(5):
            lifecycle.open()
        ids: list[str] = []
        after = None
        while True:
            page = store.list_cases(CaseQuery(limit=2, after=after))
            ids.extend(c.id for c in page.items)
            if page.next_after is None:
                break
            after = page.next_after

        assert ids == [f"case-{n:04d}" for n in range(1, 6)]

    def test_limit_is_bounded(self) -> None:
        """A page holds 1 to 1,000 cases."""
        with pytest.raises(ValueError, match="limit"):
            CaseQuery(limit=0)
        with pytest.raises(ValueError, match="limit"):
            CaseQuery(limit=1001)


class TestPorts:
    """The adapters satisfy their protocols."""

    def test_in_memory_store_is_a_store(self) -> None:
        """``InMemoryStore`` satisfies the ``Store`` protocol."""
        assert isinstance(InMemoryStore(), Store)

    def test_clocks_are_clocks(self) -> None:
        """Both clocks satisfy the ``Clock`` protocol."""
        assert isinstance(SystemClock(), Clock)
        assert isinstance(ManualClock(), Clock)

    def test_system_clock_is_aware_utc(self) -> None:
        """The system clock returns an aware UTC time."""
        now = SystemClock().now()

        assert now.utcoffset() == timedelta(0)


class TestRecords:
    """Domain records refuse values that would make them lie."""

    def test_case_times_must_be_aware_utc(self) -> None:
        """A case with a naive or non-UTC time is refused."""
        fields: dict[str, Any] = {
            "id": "c-1",
            "workflow": "psii",
            "workflow_version": "1",
            "organisation": "RX1",
            "state": "commissioned",
            "version": 1,
            "facts": {},
            "opened_at": WHEN,
            "updated_at": WHEN,
        }
        with pytest.raises(ValueError, match="aware UTC"):
            Case(**{**fields, "opened_at": datetime(2026, 1, 5)})  # noqa: DTZ001
        with pytest.raises(ValueError, match="aware UTC"):
            Case(**{**fields, "updated_at": WHEN.astimezone(timezone(timedelta(hours=1)))})
        with pytest.raises(ValueError, match="is not an opaque identifier"):
            Case(**{**fields, "id": "Jane Smith"})
        assert Case(**fields).facts_dict == {}

    def test_deadline_time_must_be_aware(self) -> None:
        """A deadline with a naive time is refused."""
        with pytest.raises(ValueError, match="aware UTC"):
            Deadline(case_id="c-1", kind="k", started_at=WHEN, due_at=datetime(2026, 1, 5))  # noqa: DTZ001
