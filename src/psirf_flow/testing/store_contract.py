"""``StoreContract``: the pytest base class that defines a correct store adapter.

Every adapter (the in-memory store, the SQL store, and third parties' stores) subclasses
it and passes. Subclass it in a test module, with a class name starting with ``Test``, and
override the ``store`` fixture so that it returns a **fresh, empty** store for each test:

```python
import pytest
from psirf_flow.testing import StoreContract


class TestMyStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = MyStore(tmp_path / "cases.db")
        yield store
        store.close()

    # Optional, for stores that persist: a new store object over the same data.
    @pytest.fixture
    def reopen(self, store, tmp_path):
        return lambda: MyStore(tmp_path / "cases.db")
```

The contract drives the store directly with [`Change`][psirf_flow.ports.Change] records
built by [`decide_open`][psirf_flow.decide.decide_open] and [`decide`][psirf_flow.decide.decide],
and through an [`Engine`][psirf_flow.engine.Engine] with a
[`ManualClock`][psirf_flow.testing.clock.ManualClock]. It needs ``pytest`` and ``hypothesis`` (the
``testing`` extra).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from psirf_flow._extras import missing


try:
    import pytest
except ImportError as _error:
    raise missing("pytest", needed_by="the store contract tests") from _error
try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError as _error:
    raise missing("hypothesis", needed_by="the store contract tests") from _error

from psirf_flow.decide import decide, decide_open
from psirf_flow.domain import (
    Actor,
    Command,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
    FactValue,
    OutboxMessage,
    Role,
    SystemReader,
)
from psirf_flow.engine import Engine
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    InvalidInput,
    StoreError,
)
from psirf_flow.ports import (
    CaseQuery,
    Change,
    DeadlineQuery,
    IdempotencyRecord,
    IncidentLink,
    Store,
)
from psirf_flow.testing.clock import ManualClock
from psirf_flow.workflows import DefinitionRegistry


__all__ = ["StoreContract"]

_REGISTRY = DefinitionRegistry.default()
_ORG = "RX1"
_READER = SystemReader("psirf-flow-store-contract")
"""The contract reads what it wrote as a named system reader."""
_OTHER_ORG = "RY2"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], _ORG)
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], _ORG)
ENGAGEMENT_LEAD = Actor("el-1", [Role.ENGAGEMENT_LEAD], _ORG)
_OPENING = {"incident_ids": ["INC-1", "INC-2"]}
_ASSIGN: dict[str, object] = {"lead_id": "inv-1", "engagement_lead_id": "el-1"}

# Any: attrs types the ``tuple`` converter of ``Escalation.notify`` with an unbound variable.
_SPECIALIST: Any = (Role.PATIENT_SAFETY_SPECIALIST.value,)
_BOTH: Any = (Role.EXECUTIVE_LEAD.value, Role.PATIENT_SAFETY_SPECIALIST.value)
_LEASE = timedelta(minutes=5)

_ids = st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True)
_fact_values = st.one_of(
    _ids,
    st.integers(min_value=-(2**53), max_value=2**53),
    st.booleans(),
    st.lists(_ids, max_size=4).map(tuple),
    st.text(max_size=20),
)
_facts = st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), _fact_values, max_size=6)


def _open_change(
    clock: ManualClock,
    case_id: str,
    *,
    workflow: str = "psii",
    actor: Actor = PSS,
    key: str | None = None,
    deadlines: tuple[Deadline, ...] = (),
    outbox: tuple[OutboxMessage, ...] = (),
    escalations: tuple[Escalation, ...] = (),
) -> Change:
    definition = _REGISTRY.latest(workflow)
    assert definition is not None
    decision = decide_open(
        definition,
        case_id=case_id,
        organisation=actor.organisation,
        command=Command("open", actor, dict(_OPENING)),
        now=clock.now(),
    )
    record = IdempotencyRecord(key, case_id, "f" * 64, 1) if key is not None else None
    return Change(
        decision.case, None, decision.entry, record, deadlines, outbox, escalations=escalations
    )


def _next_change(  # noqa: PLR0917 - a step reads best as (case, trigger, actor, payload)
    store: Store,
    clock: ManualClock,
    case_id: str,
    trigger: str,
    actor: Actor,
    payload: Mapping[str, object],
    *,
    key: str | None = None,
    deadlines: tuple[Deadline, ...] = (),
    outbox: tuple[OutboxMessage, ...] = (),
    escalations: tuple[Escalation, ...] = (),
) -> Change:
    case = store.load(case_id)
    definition = _REGISTRY.get(case.workflow, case.workflow_version)
    assert definition is not None
    decision = decide(definition, case, Command(trigger, actor, dict(payload)), now=clock.now())
    record = (
        IdempotencyRecord(key, case_id, "f" * 64, decision.entry.sequence)
        if key is not None
        else None
    )
    return Change(
        decision.case,
        case.version,
        decision.entry,
        record,
        deadlines,
        outbox,
        escalations=escalations,
    )


def _deadline(clock: ManualClock, case_id: str, kind: str, days: int) -> Deadline:
    return Deadline(
        case_id=case_id,
        kind=kind,
        started_at=clock.now(),
        due_at=clock.now() + timedelta(days=days),
    )


def _tier(
    case_id: str,
    fire_at: datetime,
    *,
    kind: str = "response_target",
    cycle: int = 0,
    tier: int = 0,
    status: str = EscalationStatus.PENDING.value,
    stage: str = "breach",
) -> Escalation:
    return Escalation(
        case_id=case_id,
        kind=kind,
        cycle=cycle,
        tier=tier,
        stage=stage,
        organisation=_ORG,
        fire_at=fire_at,
        notify=_SPECIALIST,
        status=status,
    )


def _message(clock: ManualClock, message_id: str, case_id: str) -> OutboxMessage:
    return OutboxMessage(message_id, case_id, "test.notice", {"case": case_id}, clock.now())


def _snapshot(store: Store, case_id: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "case": store.load(case_id),
        "history": tuple(store.history(case_id)),
        "deadlines": sorted(store.deadlines(case_id), key=lambda d: d.key),
        "escalations": tuple(store.escalations(case_id)),
        "outbox": tuple(store.outbox(case_id)),
        "keys": [store.find_idempotency(k) for k in keys],
    }


class StoreContract:
    """What every `Store` adapter must do. Subclass and override ``store``.

    Fixtures to override:
        store: A fresh, empty store for each test (required).
        reopen: A callable returning a *new* store object over the same data, to prove
            that what was committed survives reloading; by default it returns ``store``
            itself (right for in-memory stores only).
    """

    @pytest.fixture
    def store(self) -> Store:
        """A fresh, empty store. Subclasses must override this fixture."""
        pytest.fail("a StoreContract subclass must override the `store` fixture")

    @pytest.fixture
    def reopen(self, store: Store) -> Callable[[], Store]:
        """A callable giving a new store over the same data (``store`` itself by default)."""
        return lambda: store

    @pytest.fixture
    def contract_clock(self) -> ManualClock:
        """The clock the contract's commands are decided with."""
        return ManualClock()

    @pytest.fixture
    def engine(self, store: Store, contract_clock: ManualClock) -> Engine:
        """An engine over ``store`` with a manual clock and predictable case ids."""
        counter = itertools.count(1)
        return Engine(store, clock=contract_clock, new_id=lambda: f"case-{next(counter):04d}")

    # ------------------------------------------------------------------ round trips

    def test_round_trip_returns_what_was_committed(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A committed new case, its entry, deadline and message read back equal."""
        deadline = _deadline(contract_clock, "c-1", "psii_target", 90)
        message = _message(contract_clock, "m-1", "c-1")
        change = _open_change(
            contract_clock, "c-1", key="k-1", deadlines=(deadline,), outbox=(message,)
        )
        store.commit(change)
        case = store.load("c-1")
        assert case == change.case
        assert case.facts_dict == change.case.facts_dict
        assert isinstance(case.facts["incident_ids"], tuple)
        assert case.opened_at.utcoffset() == timedelta(0)
        assert tuple(store.history("c-1")) == (change.entry,)
        assert store.history("c-1")[0].recorded_at.tzinfo is not None
        assert tuple(store.deadlines("c-1")) == (deadline,)
        assert tuple(store.outbox("c-1")) == (message,)
        assert store.find_idempotency("k-1") == change.idempotency

    def test_update_round_trips(self, store: Store, contract_clock: ManualClock) -> None:
        """An accepted update is read back with its new state, version and hold."""
        store.commit(_open_change(contract_clock, "c-1"))
        contract_clock.advance(timedelta(hours=1))
        change = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "external_process"}
        )
        store.commit(change)
        case = store.load("c-1")
        assert case == change.case
        assert (case.state, case.version, case.held_from) == ("on_hold", 2, "commissioned")
        assert [e.sequence for e in store.history("c-1")] == [1, 2]

    def test_load_with_head_returns_the_case_and_its_latest_entry(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """The case comes back with the entry numbered by its version, equal to the stored one."""
        opening = _open_change(contract_clock, "c-1")
        store.commit(opening)
        assert store.load_with_head("c-1") == (opening.case, opening.entry)
        contract_clock.advance(timedelta(hours=1))
        change = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "external_process"}
        )
        store.commit(change)
        case, head = reopen().load_with_head("c-1")
        assert case == change.case
        assert head == change.entry
        assert head is not None
        assert (head.sequence, head.format, head.case_digest, head.key_id) == (
            2,
            2,
            change.entry.case_digest,
            None,
        )

    def test_load_with_head_of_an_unknown_case_is_not_found(self, store: Store) -> None:
        """Loading an unknown case with its head raises CaseNotFound."""
        with pytest.raises(CaseNotFound):
            store.load_with_head("nobody")

    def test_unknown_case_is_not_found(self, store: Store) -> None:
        """Loading an unknown case raises CaseNotFound; its reads are empty."""
        with pytest.raises(CaseNotFound):
            store.load("nobody")
        assert tuple(store.history("nobody")) == ()
        assert tuple(store.deadlines("nobody")) == ()
        assert tuple(store.outbox("nobody")) == ()
        assert store.find_idempotency("no-key") is None

    @settings(
        max_examples=20,
        deadline=None,
        # Each subclass runs this with its own store: differing executors are the point.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
            HealthCheck.too_slow,
        ],
    )
    @given(facts=_facts, data=_facts)
    def test_any_facts_round_trip(
        self, store: Store, facts: dict[str, FactValue], data: dict[str, FactValue]
    ) -> None:
        """Any fact values (ids, counts, flags, tuples, digests) read back equal, as tuples."""
        clock = ManualClock()
        case_id = f"h-{len(tuple(store.list_cases(CaseQuery(limit=1000)).items)):05d}"
        change = _open_change(clock, case_id)
        change = attrs.evolve(
            change,
            case=attrs.evolve(change.case, facts=facts),
            entry=attrs.evolve(change.entry, data=data),
        )
        store.commit(change)
        assert store.load(case_id).facts_dict == facts
        assert dict(store.history(case_id)[0].data) == data

    # ------------------------------------------------------------------ refusals

    def test_taken_case_id_raises_case_already_exists(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """Creating a case whose id is taken raises CaseAlreadyExists and writes nothing."""
        first = _open_change(contract_clock, "c-1")
        store.commit(first)
        with pytest.raises(CaseAlreadyExists):
            store.commit(_open_change(contract_clock, "c-1", workflow="mdt_review", key="k-9"))
        assert store.load("c-1") == first.case
        assert tuple(store.history("c-1")) == (first.entry,)
        assert store.find_idempotency("k-9") is None

    def test_stale_version_raises_conflict(self, store: Store, contract_clock: ManualClock) -> None:
        """Of two changes decided against one version, the second raises ConcurrencyConflict."""
        store.commit(_open_change(contract_clock, "c-1"))
        hold = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "other"}
        )
        assign = _next_change(store, contract_clock, "c-1", "assign_lead", PSS, _ASSIGN)
        store.commit(hold)
        with pytest.raises(ConcurrencyConflict):
            store.commit(assign)
        assert store.load("c-1") == hold.case
        assert [e.trigger for e in store.history("c-1")] == ["open", "hold"]

    def test_update_of_missing_case_raises_conflict(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A change expecting a version of a case that does not exist is a conflict."""
        change = _open_change(contract_clock, "c-1")
        with pytest.raises(ConcurrencyConflict):
            store.commit(attrs.evolve(change, expected_version=0))
        with pytest.raises(CaseNotFound):
            store.load("c-1")

    def test_reused_idempotency_key_raises_conflict(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A second change with a key already used raises ConcurrencyConflict, writing nothing."""
        first = _open_change(contract_clock, "c-1", key="k-1")
        store.commit(first)
        store.commit(_open_change(contract_clock, "c-2"))
        before = _snapshot(store, "c-2")
        change = _next_change(
            store, contract_clock, "c-2", "hold", EXECUTIVE, {"hold_reason": "other"}, key="k-1"
        )
        with pytest.raises(ConcurrencyConflict):
            store.commit(change)
        assert _snapshot(store, "c-2") == before
        assert store.find_idempotency("k-1") == first.idempotency

    def test_out_of_sequence_entry_raises_store_error(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """An audit entry that does not follow the case's last one is refused."""
        store.commit(_open_change(contract_clock, "c-1"))
        before = _snapshot(store, "c-1")
        change = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "other"}
        )
        skipped = attrs.evolve(change.entry, sequence=3)
        with pytest.raises(StoreError):
            store.commit(attrs.evolve(change, entry=skipped))
        assert _snapshot(store, "c-1") == before

    # ------------------------------------------------------------------ atomicity

    def test_failing_write_in_the_middle_leaves_nothing(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """An outbox id collision fails the change after its case and entry; none of it stays."""
        first_deadline = _deadline(contract_clock, "c-1", "psii_target", 90)
        store.commit(
            _open_change(
                contract_clock,
                "c-1",
                deadlines=(first_deadline,),
                outbox=(_message(contract_clock, "m-1", "c-1"),),
            )
        )
        before = _snapshot(store, "c-1", ("k-2",))
        change = _next_change(
            store,
            contract_clock,
            "c-1",
            "hold",
            EXECUTIVE,
            {"hold_reason": "other"},
            key="k-2",
            deadlines=(_deadline(contract_clock, "c-1", "psii_target", 120),),
            outbox=(_message(contract_clock, "m-2", "c-1"), _message(contract_clock, "m-1", "c-1")),
        )
        with pytest.raises(StoreError) as raised:
            store.commit(change)
        assert not isinstance(raised.value, ConcurrencyConflict)
        assert _snapshot(store, "c-1", ("k-2",)) == before
        store.commit(attrs.evolve(change, outbox=()))
        assert store.load("c-1") == change.case

    def test_deadline_of_another_case_leaves_nothing(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A change carrying a deadline of another case is refused and writes nothing."""
        store.commit(_open_change(contract_clock, "c-1"))
        store.commit(_open_change(contract_clock, "c-2"))
        before = _snapshot(store, "c-1", ("k-2",))
        change = _next_change(
            store,
            contract_clock,
            "c-1",
            "hold",
            EXECUTIVE,
            {"hold_reason": "other"},
            key="k-2",
            deadlines=(_deadline(contract_clock, "c-2", "psii_target", 10),),
        )
        with pytest.raises(StoreError):
            store.commit(change)
        assert _snapshot(store, "c-1", ("k-2",)) == before
        assert tuple(store.deadlines("c-2")) == ()

    def test_deadlines_are_replaced_by_kind(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A deadline of a kind the case already has replaces it; other kinds stay."""
        target = _deadline(contract_clock, "c-1", "psii_target", 90)
        review = _deadline(contract_clock, "c-1", "review", 30)
        store.commit(_open_change(contract_clock, "c-1", deadlines=(target, review)))
        moved = attrs.evolve(target, due_at=target.due_at + timedelta(days=14), tier=1)
        store.commit(
            _next_change(
                store,
                contract_clock,
                "c-1",
                "hold",
                EXECUTIVE,
                {"hold_reason": "other"},
                deadlines=(moved,),
            )
        )
        assert sorted(store.deadlines("c-1"), key=lambda d: d.kind) == [moved, review]

    def test_outbox_is_oldest_first(self, store: Store, contract_clock: ManualClock) -> None:
        """Messages read back in the order they were committed."""
        store.commit(
            _open_change(contract_clock, "c-1", outbox=(_message(contract_clock, "z-1", "c-1"),))
        )
        contract_clock.advance(timedelta(minutes=5))
        later = (_message(contract_clock, "a-2", "c-1"), _message(contract_clock, "m-3", "c-1"))
        store.commit(
            _next_change(
                store,
                contract_clock,
                "c-1",
                "hold",
                EXECUTIVE,
                {"hold_reason": "other"},
                outbox=later,
            )
        )
        assert [m.id for m in store.outbox("c-1")] == ["z-1", "a-2", "m-3"]

    def test_pending_outbox_spans_cases_oldest_first(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """Pending messages of every case come back in commit order, up to the limit."""
        for number in (1, 2, 3):
            case_id = f"c-{number}"
            message = _message(contract_clock, f"m-{number}", case_id)
            store.commit(_open_change(contract_clock, case_id, outbox=(message,)))

        assert [m.id for m in store.pending_outbox(10)] == ["m-1", "m-2", "m-3"]
        assert [m.id for m in store.pending_outbox(2)] == ["m-1", "m-2"]

    def test_delivered_messages_leave_the_pending_list(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """Marking a message delivered records when and how, once; it is no longer pending."""
        messages = (_message(contract_clock, "m-1", "c-1"), _message(contract_clock, "m-2", "c-1"))
        store.commit(_open_change(contract_clock, "c-1", outbox=messages))
        at = contract_clock.advance(timedelta(minutes=1))

        first = store.mark_delivered("m-1", at=at, outcome="applied")
        again = store.mark_delivered("m-1", at=at + timedelta(minutes=1), outcome="replayed")

        assert (first, again) == (True, False)
        assert [m.id for m in reopen().pending_outbox(10)] == ["m-2"]
        delivered = {m.id: (m.delivered_at, m.outcome) for m in reopen().outbox("c-1")}
        assert delivered == {"m-1": (at, "applied"), "m-2": (None, None)}

    def test_marking_an_unknown_message_is_a_store_error(self, store: Store) -> None:
        """Marking a message that does not exist raises StoreError."""
        with pytest.raises(StoreError):
            store.mark_delivered("no-such-message", at=ManualClock().now(), outcome="applied")

    def test_outbox_keeps_the_cause_and_the_delivery_counters(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """A message reads back with its cause, no attempts, and no back-off or error."""
        message = attrs.evolve(
            _message(contract_clock, "m-1", "c-1"), cause_sequence=1, cause_hash="a" * 64
        )
        store.commit(_open_change(contract_clock, "c-1", outbox=(message,)))

        (stored,) = reopen().outbox("c-1")

        assert stored == message
        assert (stored.cause_sequence, stored.cause_hash) == (1, "a" * 64)
        assert (stored.attempts, stored.next_attempt_at, stored.last_error) == (0, None, None)

    def test_deferred_messages_wait_until_due(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """A failed attempt is counted; the message is pending but not due until its time."""
        messages = (_message(contract_clock, "m-1", "c-1"), _message(contract_clock, "m-2", "c-1"))
        store.commit(_open_change(contract_clock, "c-1", outbox=messages))
        now = contract_clock.now()
        until = now + timedelta(seconds=30)

        deferred = store.defer_outbox("m-1", until=until, reason="store_error")

        assert deferred is True
        assert [m.id for m in reopen().pending_outbox(10)] == ["m-1", "m-2"]
        assert [m.id for m in reopen().pending_outbox(10, now=now)] == ["m-2"]
        assert [m.id for m in reopen().pending_outbox(10, now=until)] == ["m-1", "m-2"]
        first = reopen().outbox("c-1")[0]
        assert (first.attempts, first.next_attempt_at, first.last_error) == (
            1,
            until,
            "store_error",
        )
        assert first.delivered_at is None

    def test_marking_delivered_counts_the_attempt(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """Delivery after a failed attempt counts both; a delivered message cannot be deferred."""
        store.commit(
            _open_change(contract_clock, "c-1", outbox=(_message(contract_clock, "m-1", "c-1"),))
        )
        at = contract_clock.now()
        store.defer_outbox("m-1", until=at, reason="unexpected_error")
        store.mark_delivered("m-1", at=at, outcome="applied")

        again = store.defer_outbox("m-1", until=at, reason="store_error")

        (stored,) = reopen().outbox("c-1")
        assert again is False
        assert (stored.attempts, stored.outcome, stored.last_error) == (
            2,
            "applied",
            "unexpected_error",
        )

    def test_dead_messages_are_listed_and_can_be_requeued(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """Dead messages are listed oldest first; a requeued one is pending again, from 0."""
        messages = tuple(_message(contract_clock, f"m-{n}", "c-1") for n in (1, 2, 3))
        store.commit(_open_change(contract_clock, "c-1", outbox=messages))
        at = contract_clock.advance(timedelta(minutes=1))
        store.mark_delivered("m-3", at=at, outcome="dead:untrusted_cause")
        store.mark_delivered("m-2", at=at, outcome="applied")
        store.mark_delivered("m-1", at=at, outcome="dead:case_id_taken")

        listed = [(m.id, m.outcome) for m in reopen().dead_outbox(10)]
        later = contract_clock.advance(timedelta(minutes=1))
        requeued = store.requeue_outbox("m-3", at=later)
        not_dead = store.requeue_outbox("m-2", at=later)

        assert listed == [("m-1", "dead:case_id_taken"), ("m-3", "dead:untrusted_cause")]
        assert [m.id for m in reopen().dead_outbox(1)] == ["m-1"]
        assert (requeued, not_dead) == (True, False)
        assert [m.id for m in reopen().dead_outbox(10)] == ["m-1"]
        assert [m.id for m in reopen().pending_outbox(10, now=later)] == ["m-3"]
        back = reopen().outbox("c-1")[2]
        assert (back.delivered_at, back.outcome, back.attempts, back.next_attempt_at) == (
            None,
            None,
            0,
            later,
        )

    def test_requeued_messages_keep_their_place(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A requeued message is pending in the order it was first written."""
        messages = tuple(_message(contract_clock, f"m-{n}", "c-1") for n in (1, 2))
        store.commit(_open_change(contract_clock, "c-1", outbox=messages))
        at = contract_clock.now()
        store.mark_delivered("m-1", at=at, outcome="dead:unexpected_error")
        store.requeue_outbox("m-1", at=at)

        assert [m.id for m in store.pending_outbox(10, now=at)] == ["m-1", "m-2"]

    def test_changing_an_unknown_message_is_a_store_error(self, store: Store) -> None:
        """Deferring or requeueing a message that does not exist raises StoreError."""
        at = ManualClock().now()
        with pytest.raises(StoreError):
            store.defer_outbox("no-such-message", until=at, reason="store_error")
        with pytest.raises(StoreError):
            store.requeue_outbox("no-such-message", at=at)

    # ------------------------------------------------------------------ through the engine

    def test_engine_replays_an_idempotent_command(
        self, store: Store, engine: Engine, contract_clock: ManualClock
    ) -> None:
        """The same key and command returns the first outcome and writes nothing new."""
        opened = engine.open("psii", actor=PSS, payload=_OPENING, idempotency_key="open-1")
        first = engine.fire(
            opened.case.id, "assign_lead", actor=PSS, payload=_ASSIGN, idempotency_key="as-1"
        )
        contract_clock.advance(timedelta(minutes=1))
        again = engine.fire(
            opened.case.id, "assign_lead", actor=PSS, payload=_ASSIGN, idempotency_key="as-1"
        )
        reopened = engine.open("psii", actor=PSS, payload=_OPENING, idempotency_key="open-1")
        assert again.replayed
        assert again.entry == first.entry
        assert reopened.case.id == opened.case.id
        assert len(store.history(opened.case.id)) == 2
        assert store.list_cases(CaseQuery()).items == (store.load(opened.case.id),)

    def test_engine_refuses_a_key_reused_for_another_command(
        self, store: Store, engine: Engine
    ) -> None:
        """A key presented with a different command is refused and nothing is written."""
        opened = engine.open("psii", actor=PSS, payload=_OPENING)
        engine.fire(opened.case.id, "assign_lead", actor=PSS, payload=_ASSIGN, idempotency_key="k")
        with pytest.raises(IdempotencyKeyReused):
            engine.fire(
                opened.case.id,
                "hold",
                actor=EXECUTIVE,
                payload={"hold_reason": "other"},
                idempotency_key="k",
            )
        assert store.load(opened.case.id).state == "planning"

    def test_history_is_in_sequence_order_and_verifies(
        self, store: Store, engine: Engine, contract_clock: ManualClock
    ) -> None:
        """Entries come back numbered 1..n, each chaining to the one before, and verify."""
        case_id = engine.open("psii", actor=PSS, payload=_OPENING).case.id
        steps: list[tuple[str, Actor, dict[str, object]]] = [
            ("assign_lead", PSS, _ASSIGN),
            ("hold", EXECUTIVE, {"hold_reason": "family_request"}),
            ("resume", EXECUTIVE, {}),
            (
                "record_engagement",
                ENGAGEMENT_LEAD,
                {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
            ),
            ("hold", EXECUTIVE, {"hold_reason": "other", "note": "waiting"}),
            ("resume", EXECUTIVE, {}),
        ]
        for trigger, actor, payload in steps:
            contract_clock.advance(timedelta(hours=1, microseconds=7))
            engine.fire(case_id, trigger, actor=actor, payload=payload)
        history = store.history(case_id)
        assert [e.sequence for e in history] == list(range(1, len(steps) + 2))
        assert [e.trigger for e in history] == ["open", *(s[0] for s in steps)]
        assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(history))
        assert engine.verify(case_id, reader=_READER).ok
        assert store.load(case_id).version == history[-1].sequence

    def test_audit_verifies_after_reload(
        self, store: Store, engine: Engine, reopen: Callable[[], Store]
    ) -> None:
        """A new store over the same data returns the same case and a trail that verifies."""
        case_id = engine.open("psii", actor=PSS, payload=_OPENING).case.id
        engine.fire(case_id, "assign_lead", actor=PSS, payload=_ASSIGN)
        engine.fire(case_id, "hold", actor=EXECUTIVE, payload={"hold_reason": "other"})
        again = reopen()
        second = Engine(again, clock=ManualClock())
        assert again.load(case_id) == store.load(case_id)
        assert tuple(again.history(case_id)) == tuple(store.history(case_id))
        result = second.verify(case_id, reader=_READER)
        assert result.ok
        assert result.entries == 3

    # ------------------------------------------------------------------ incident links

    def test_incident_links_round_trip_and_are_replaced(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """Links are written with the change, read by incident, and replaced per case."""
        first = (
            IncidentLink(_ORG, "INC-1", "c-1", "standard"),
            IncidentLink(_ORG, "INC-2", "c-1", "standard"),
        )
        store.commit(attrs.evolve(_open_change(contract_clock, "c-1"), incident_links=first))
        store.commit(
            attrs.evolve(
                _open_change(contract_clock, "c-2"),
                incident_links=(IncidentLink(_ORG, "INC-1", "c-2", "serious"),),
            )
        )
        raised = IncidentLink(_ORG, "INC-2", "c-1", "serious")
        change = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "other"}
        )
        store.commit(attrs.evolve(change, incident_links=(raised,)))

        again = reopen()
        assert tuple(again.incident_links(_ORG, ["INC-2", "INC-1", "INC-1"])) == (
            first[0],
            IncidentLink(_ORG, "INC-1", "c-2", "serious"),
            raised,
        )
        assert tuple(again.incident_links(_ORG, ["INC-2"])) == (raised,)
        assert tuple(again.incident_links(_OTHER_ORG, ["INC-1", "INC-2"])) == ()
        assert tuple(again.incident_links(_ORG, [])) == ()
        assert tuple(again.incident_links(_ORG, ["INC-9"])) == ()

    def test_incident_links_of_organisations_are_apart(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """The same incident id in two organisations names two incidents."""
        other = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], _OTHER_ORG)
        mine = IncidentLink(_ORG, "INC-1", "c-1", "standard")
        theirs = IncidentLink(_OTHER_ORG, "INC-1", "c-9", "serious")
        store.commit(attrs.evolve(_open_change(contract_clock, "c-1"), incident_links=(mine,)))
        store.commit(
            attrs.evolve(_open_change(contract_clock, "c-9", actor=other), incident_links=(theirs,))
        )

        assert tuple(store.incident_links(_ORG, ["INC-1"])) == (mine,)
        assert tuple(store.incident_links(_OTHER_ORG, ["INC-1"])) == (theirs,)

    def test_incident_link_of_another_case_leaves_nothing(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A change carrying another case's link is refused and writes nothing."""
        store.commit(_open_change(contract_clock, "c-1"))
        before = _snapshot(store, "c-1")
        change = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "other"}
        )
        stray = IncidentLink(_ORG, "INC-1", "c-2", "serious")

        with pytest.raises(StoreError) as raised:
            store.commit(attrs.evolve(change, incident_links=(stray,)))

        assert not isinstance(raised.value, ConcurrencyConflict)
        assert _snapshot(store, "c-1") == before
        assert tuple(store.incident_links(_ORG, ["INC-1"])) == ()

    def test_incident_links_of_a_refused_commit_are_not_written(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A version conflict writes none of the change's links."""
        store.commit(_open_change(contract_clock, "c-1"))
        stale = _next_change(
            store, contract_clock, "c-1", "hold", EXECUTIVE, {"hold_reason": "other"}
        )
        store.commit(stale)

        with pytest.raises(ConcurrencyConflict):
            store.commit(
                attrs.evolve(stale, incident_links=(IncidentLink(_ORG, "INC-1", "c-1", "serious"),))
            )

        assert tuple(store.incident_links(_ORG, ["INC-1"])) == ()

    def test_engine_links_every_record_of_an_incident(self, store: Store, engine: Engine) -> None:
        """The engine links each case to its incidents and raises a new record to them."""
        intake = engine.open(
            "incident_intake", actor=PSS, case_id="INT-1", payload={"incident_id": "INC-1"}
        ).case
        psii = engine.open("psii", actor=PSS, case_id="LR-1", payload=_OPENING).case
        candour = engine.open(
            "duty_of_candour", actor=PSS, case_id="DOC-1", payload={"incident_ids": ["INC-2"]}
        ).case

        links = tuple(store.incident_links(_ORG, ["INC-1", "INC-2"]))
        assert [(k.incident_id, k.case_id, k.retention_class) for k in links] == [
            ("INC-1", "INT-1", "standard"),
            ("INC-1", "LR-1", "serious"),
            ("INC-2", "DOC-1", "serious"),
            ("INC-2", "LR-1", "serious"),
        ]
        assert (intake.retention_class, psii.retention_class, candour.retention_class) == (
            "standard",
            "serious",
            "serious",
        )
        assert engine.retention("INT-1", reader=_READER)[0] == "serious"

    # ------------------------------------------------------------------ listing

    @pytest.fixture
    def populated(self, engine: Engine) -> list[str]:
        """Nine cases over two workflows, two organisations and two states."""
        other = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], _OTHER_ORG)
        made: list[str] = []
        for n in range(9):
            workflow = "psii" if n % 3 else "after_action_review"
            actor = PSS if n % 2 else other
            case_id = f"L-{(n * 7) % 9:02d}"
            engine.open(workflow, actor=actor, payload=_OPENING, case_id=case_id)
            if n % 4 == 0 and workflow == "psii":
                payload = {"lead_id": "inv-1", "engagement_lead_id": "el-1"}
                engine.fire(case_id, "assign_lead", actor=actor, payload=payload)
            elif n % 4 == 0:
                # The after action review is led by a facilitator (psirf-rules §2).
                payload = {"facilitator_id": "fac-1"}
                engine.fire(case_id, "assign_facilitator", actor=actor, payload=payload)
            made.append(case_id)
        return made

    @pytest.mark.parametrize(
        ("workflow", "state", "organisation"),
        [
            (None, None, None),
            ("psii", None, None),
            (None, "planning", None),
            (None, None, _OTHER_ORG),
            ("psii", "commissioned", _ORG),
            ("after_action_review", "planning", _OTHER_ORG),
            ("thematic_review", None, None),
        ],
        ids=["all", "workflow", "state", "organisation", "all-three", "narrow", "none-match"],
    )
    @pytest.mark.parametrize("limit", [1, 2, 50], ids=["limit1", "limit2", "limit50"])
    def test_list_cases_filters_and_pages_by_id(  # noqa: PLR0917 - pytest passes parameters
        self,
        store: Store,
        populated: list[str],
        workflow: str | None,
        state: str | None,
        organisation: str | None,
        limit: int,
    ) -> None:
        """Listing returns exactly the matching cases, by id, in keyset pages of ``limit``."""
        cases = [store.load(case_id) for case_id in populated]
        expected = sorted(
            c.id
            for c in cases
            if workflow in (None, c.workflow)
            and state in (None, c.state)
            and organisation in (None, c.organisation)
        )
        seen: list[str] = []
        after: str | None = None
        for _ in range(len(populated) + 2):
            page = store.list_cases(
                CaseQuery(workflow, state, organisation, after=after, limit=limit)
            )
            assert len(page.items) <= limit
            seen.extend(c.id for c in page.items)
            if page.next_after is None:
                break
            assert page.next_after == page.items[-1].id
            after = page.next_after
        assert seen == expected

    @pytest.mark.parametrize(
        ("organisations", "organisation", "expected_orgs"),
        [
            (frozenset({_ORG}), None, {_ORG}),
            (frozenset({_OTHER_ORG}), None, {_OTHER_ORG}),
            (frozenset({_ORG, _OTHER_ORG}), None, {_ORG, _OTHER_ORG}),
            (frozenset({_ORG}), _OTHER_ORG, set()),
            (frozenset({_ORG, _OTHER_ORG}), _ORG, {_ORG}),
            (frozenset(), None, set()),
        ],
        ids=["own", "other", "both", "filter-outside", "filter-inside", "none-visible"],
    )
    def test_list_cases_keeps_to_the_visible_organisations(
        self,
        store: Store,
        populated: list[str],
        organisations: frozenset[str],
        organisation: str | None,
        expected_orgs: set[str],
    ) -> None:
        """Listing with ``organisations`` returns only those organisations' cases, paged."""
        expected = sorted(
            case_id for case_id in populated if store.load(case_id).organisation in expected_orgs
        )
        seen: list[str] = []
        after: str | None = None
        for _ in range(len(populated) + 2):
            page = store.list_cases(
                CaseQuery(
                    organisation=organisation, organisations=organisations, after=after, limit=2
                )
            )
            seen.extend(c.id for c in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == expected

    def test_keyset_pages_do_not_shift_when_cases_are_added(
        self, store: Store, engine: Engine, populated: list[str]
    ) -> None:
        """A case added before the cursor does not repeat or hide cases on the next page."""
        first = store.list_cases(CaseQuery(limit=4))
        engine.open("psii", actor=PSS, payload=_OPENING, case_id="L-00a")
        rest = store.list_cases(CaseQuery(after=first.next_after, limit=50))
        ids = [c.id for c in (*first.items, *rest.items)]
        assert ids == sorted(populated)
        assert all(c.opened_at.tzinfo == UTC for c in rest.items)

    def test_listed_cases_equal_loaded_cases(self, store: Store, populated: list[str]) -> None:
        """A listed case is the same record that loading it returns."""
        page = store.list_cases(CaseQuery(limit=50))
        assert page.next_after is None
        assert list(page.items) == [store.load(case_id) for case_id in sorted(populated)]

    # ------------------------------------------------------------------ deadlines and tiers

    def test_deadlines_and_tiers_round_trip_every_field(
        self, store: Store, contract_clock: ManualClock, reopen: Callable[[], Store]
    ) -> None:
        """Every field of a deadline and a tier reads back equal, its times as aware UTC."""
        now = contract_clock.now()
        full = Deadline(
            case_id="c-1",
            kind="response_target",
            cycle=2,
            organisation=_ORG,
            workflow="psii",
            started_at=now,
            due_date=date(2026, 4, 7),
            due_at=datetime(2026, 4, 8, 0, 0, tzinfo=UTC),
            status=DeadlineStatus.PAUSED.value,
            owner="inv-1",
            ladder="psii-ladder",
            tier=3,
            paused_at=now + timedelta(days=1, microseconds=7),
            met_at=now + timedelta(days=2),
        )
        bare = Deadline(
            case_id="c-1",
            kind="triage_review",
            started_at=now,
            due_at=now + timedelta(hours=24),
        )
        fired = Escalation(
            case_id="c-1",
            kind="response_target",
            cycle=2,
            tier=1,
            stage="escalation",
            organisation=_ORG,
            fire_at=datetime(2026, 4, 10, 0, 0, tzinfo=UTC),
            notify=_BOTH,
            action="convert_to_after_action_review",
            status=EscalationStatus.FIRED.value,
            fired_at=now + timedelta(days=3, microseconds=11),
        )
        silent = Escalation(
            case_id="c-1",
            kind="triage_review",
            tier=0,
            stage="warning",
            fire_at=now + timedelta(hours=20),
        )
        store.commit(
            _open_change(contract_clock, "c-1", deadlines=(full, bare), escalations=(fired, silent))
        )
        for reader in (store, reopen()):
            assert tuple(reader.deadlines("c-1")) == (full, bare)
            assert tuple(reader.escalations("c-1")) == (fired, silent)
            back, empty = reader.deadlines("c-1")
            assert (back.due_date, empty.due_date) == (date(2026, 4, 7), None)
            assert (empty.owner, empty.ladder, empty.paused_at, empty.met_at) == (None,) * 4
            times = (back.started_at, back.due_at, back.paused_at, back.met_at)
            assert all(t is not None and t.utcoffset() == timedelta(0) for t in times)
            tier, quiet = reader.escalations("c-1")
            assert tier.fire_at.utcoffset() == timedelta(0)
            assert tier.fired_at is not None
            assert tier.fired_at.utcoffset() == timedelta(0)
            assert (quiet.notify, quiet.action, quiet.fired_at) == ((), None, None)
            assert tuple(reader.escalations("c-2")) == ()

    def test_deadlines_and_tiers_are_upserted_by_key(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A row with a taken key replaces it; other keys stay; reads are ordered by key."""
        now = contract_clock.now()
        target = _deadline(contract_clock, "c-1", "response_target", 90)
        cap = _deadline(contract_clock, "c-1", "response_hard_cap", 183)
        warning = _tier("c-1", now + timedelta(days=80), stage="warning")
        breach = _tier("c-1", now + timedelta(days=90), tier=1)
        store.commit(
            _open_change(
                contract_clock,
                "c-1",
                deadlines=(target, cap),
                escalations=(breach, warning),
            )
        )
        contract_clock.advance(timedelta(hours=1))
        met = attrs.evolve(target, status=DeadlineStatus.SUPERSEDED.value, met_at=now)
        reopened = attrs.evolve(target, cycle=1, due_at=now + timedelta(days=120))
        cancelled = attrs.evolve(breach, status=EscalationStatus.CANCELLED.value)
        again = attrs.evolve(warning, cycle=1)
        store.commit(
            _next_change(
                store,
                contract_clock,
                "c-1",
                "hold",
                EXECUTIVE,
                {"hold_reason": "other"},
                deadlines=(reopened, met),
                escalations=(again, cancelled),
            )
        )
        assert tuple(store.deadlines("c-1")) == (cap, met, reopened)
        assert tuple(store.escalations("c-1")) == (warning, cancelled, again)

    def test_last_row_of_a_key_in_one_change_wins(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """Two rows with one key in the same change leave the later one."""
        first = _tier("c-1", contract_clock.now())
        later = attrs.evolve(first, fire_at=first.fire_at + timedelta(hours=2))
        target = _deadline(contract_clock, "c-1", "response_target", 90)
        moved = attrs.evolve(target, tier=1)
        store.commit(
            _open_change(
                contract_clock, "c-1", deadlines=(target, moved), escalations=(first, later)
            )
        )
        assert tuple(store.escalations("c-1")) == (later,)
        assert tuple(store.deadlines("c-1")) == (moved,)

    @pytest.mark.parametrize(
        ("bad", "words"),
        [
            ("deadline", "belongs to another case"),
            ("tier", "belongs to another case"),
            ("role", "comma"),
            ("empty-role", "comma"),
        ],
    )
    def test_unusable_clock_rows_leave_nothing(
        self, store: Store, contract_clock: ManualClock, bad: str, words: str
    ) -> None:
        """A deadline or tier of another case, or a role with a comma, refuses the change."""
        store.commit(_open_change(contract_clock, "c-1"))
        store.commit(_open_change(contract_clock, "c-2"))
        before = _snapshot(store, "c-1", ("k-2",))
        now = contract_clock.now()
        deadlines: tuple[Deadline, ...] = (_deadline(contract_clock, "c-1", "response_target", 9),)
        escalations: tuple[Escalation, ...] = (_tier("c-1", now),)
        if bad == "deadline":
            deadlines += (_deadline(contract_clock, "c-2", "response_target", 9),)
        elif bad == "tier":
            escalations += (_tier("c-2", now, tier=1),)
        else:
            role = "" if bad == "empty-role" else "patient_safety_specialist,executive_lead"
            roles: Any = (role,)  # Any: attrs types the tuple converter loosely
            escalations += (attrs.evolve(_tier("c-1", now, tier=1), notify=roles),)
        change = _next_change(
            store,
            contract_clock,
            "c-1",
            "hold",
            EXECUTIVE,
            {"hold_reason": "other"},
            key="k-2",
            deadlines=deadlines,
            escalations=escalations,
        )
        with pytest.raises(StoreError, match=words) as raised:
            store.commit(change)
        assert not isinstance(raised.value, ConcurrencyConflict)
        assert _snapshot(store, "c-1", ("k-2",)) == before
        assert (tuple(store.deadlines("c-2")), tuple(store.escalations("c-2"))) == ((), ())
        assert tuple(store.claim_due(now, limit=10, claimant="s", lease=_LEASE)) == ()

    def test_tiers_of_a_failed_change_are_not_written(
        self, store: Store, contract_clock: ManualClock
    ) -> None:
        """A change that fails late (a taken outbox id) writes none of its deadlines or tiers."""
        store.commit(
            _open_change(contract_clock, "c-1", outbox=(_message(contract_clock, "m-1", "c-1"),))
        )
        before = _snapshot(store, "c-1")
        change = _next_change(
            store,
            contract_clock,
            "c-1",
            "hold",
            EXECUTIVE,
            {"hold_reason": "other"},
            deadlines=(_deadline(contract_clock, "c-1", "response_target", 9),),
            escalations=(_tier("c-1", contract_clock.now()),),
            outbox=(_message(contract_clock, "m-1", "c-1"),),
        )
        with pytest.raises(StoreError):
            store.commit(change)
        assert _snapshot(store, "c-1") == before
        claimed = store.claim_due(contract_clock.now(), limit=10, claimant="s", lease=_LEASE)
        assert tuple(claimed) == ()

    # ------------------------------------------------------------------ claiming

    @pytest.fixture
    def tiers(self, store: Store, contract_clock: ManualClock) -> dict[str, Escalation]:
        """Tiers of two cases around now: four pending and due, one not yet, three settled."""
        now = contract_clock.now()
        made = {
            "early": _tier("c-2", now - timedelta(hours=2)),
            "middle": _tier("c-1", now - timedelta(hours=1), kind="candour_notification"),
            "tie-a": _tier("c-1", now - timedelta(minutes=30), tier=1),
            "tie-b": _tier("c-2", now - timedelta(minutes=30), tier=1),
            "exactly-now": _tier("c-1", now, tier=2),
            "later": _tier("c-1", now + timedelta(microseconds=1), tier=3),
            "paused": _tier("c-2", now - timedelta(hours=3), tier=2, status="paused"),
            "fired": _tier("c-2", now - timedelta(hours=4), tier=3, status="fired"),
            "cancelled": _tier("c-1", now - timedelta(hours=5), tier=4, status="cancelled"),
        }
        for case_id in ("c-1", "c-2"):
            mine = tuple(t for t in made.values() if t.case_id == case_id)
            store.commit(_open_change(contract_clock, case_id, escalations=mine))
        return made

    def test_claim_returns_only_pending_due_tiers_earliest_first(
        self, store: Store, contract_clock: ManualClock, tiers: dict[str, Escalation]
    ) -> None:
        """Pending tiers due by now come back earliest first (then by key), at most limit."""
        now = contract_clock.now()
        first = store.claim_due(now, limit=2, claimant="sweeper-1", lease=_LEASE)
        rest = store.claim_due(now, limit=10, claimant="sweeper-2", lease=_LEASE)
        assert tuple(first) == (tiers["early"], tiers["middle"])
        assert tuple(rest) == (tiers["tie-a"], tiers["tie-b"], tiers["exactly-now"])
        assert tuple(store.claim_due(now, limit=10, claimant="sweeper-3", lease=_LEASE)) == ()

    def test_claimed_tiers_wait_for_their_lease_to_run_out(
        self, store: Store, contract_clock: ManualClock, tiers: dict[str, Escalation]
    ) -> None:
        """No claimant gets a tier within another's lease; any does once it has run out."""
        now = contract_clock.now()
        claimed = store.claim_due(now, limit=3, claimant="sweeper-1", lease=_LEASE)
        assert tuple(claimed) == (tiers["early"], tiers["middle"], tiers["tie-a"])
        almost = now + _LEASE - timedelta(microseconds=1)
        others = store.claim_due(almost, limit=10, claimant="sweeper-2", lease=_LEASE)
        assert tuple(others) == (tiers["tie-b"], tiers["exactly-now"], tiers["later"])
        for claimant in ("sweeper-1", "sweeper-2", "sweeper-3"):
            assert tuple(store.claim_due(almost, limit=10, claimant=claimant, lease=_LEASE)) == ()
        expired = store.claim_due(now + _LEASE, limit=10, claimant="sweeper-2", lease=_LEASE)
        assert tuple(expired) == (tiers["early"], tiers["middle"], tiers["tie-a"])

    def test_committing_a_tier_ends_its_claim(
        self, store: Store, contract_clock: ManualClock, tiers: dict[str, Escalation]
    ) -> None:
        """A tier committed as fired is never claimed again; one committed pending is at once."""
        now = contract_clock.now()
        claimed = store.claim_due(now, limit=2, claimant="sweeper-1", lease=_LEASE)
        assert tuple(claimed) == (tiers["early"], tiers["middle"])
        contract_clock.advance(timedelta(seconds=1))
        fired = attrs.evolve(
            tiers["middle"], status=EscalationStatus.FIRED.value, fired_at=contract_clock.now()
        )
        store.commit(
            _next_change(
                store,
                contract_clock,
                "c-1",
                "hold",
                EXECUTIVE,
                {"hold_reason": "other"},
                escalations=(fired,),
            )
        )
        moved = attrs.evolve(tiers["early"], fire_at=now - timedelta(hours=1, minutes=30))
        store.commit(
            _next_change(
                store,
                contract_clock,
                "c-2",
                "hold",
                EXECUTIVE,
                {"hold_reason": "other"},
                escalations=(moved,),
            )
        )
        assert fired in store.escalations("c-1")
        later = contract_clock.now()
        again = store.claim_due(later, limit=10, claimant="sweeper-2", lease=_LEASE)
        expected = (moved, *(tiers[n] for n in ("tie-a", "tie-b", "exactly-now", "later")))
        assert tuple(again) == expected
        after_lease = store.claim_due(later + _LEASE, limit=10, claimant="s-3", lease=_LEASE)
        assert tuple(after_lease) == expected

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("now", datetime(2026, 1, 5, 9)),  # noqa: DTZ001 - naive on purpose
            ("now", "2026-01-05T09:00:00Z"),
            ("limit", 0),
            ("limit", 10_001),
            ("limit", True),
            ("limit", "5"),
            ("claimant", ""),
            ("claimant", "s" * 129),
            ("claimant", 7),
            ("lease", timedelta(0)),
            ("lease", timedelta(seconds=-1)),
            ("lease", 300),
        ],
    )
    def test_claim_refuses_bad_arguments(
        self,
        store: Store,
        contract_clock: ManualClock,
        tiers: dict[str, Escalation],
        argument: str,
        value: object,
    ) -> None:
        """A bad argument is refused with InvalidInput naming it, and claims nothing."""
        arguments: dict[str, Any] = {
            "now": contract_clock.now(),
            "limit": 10,
            "claimant": "sweeper-1",
            "lease": _LEASE,
        }
        arguments[argument] = value
        with pytest.raises(InvalidInput) as raised:
            store.claim_due(**arguments)
        assert raised.value.argument == argument
        now = contract_clock.now()
        assert len(store.claim_due(now, limit=10_000, claimant="s" * 128, lease=_LEASE)) == 5
        assert tiers

    # ------------------------------------------------------------------ finding deadlines

    @pytest.fixture
    def clocks(self, store: Store, contract_clock: ManualClock) -> dict[str, Deadline]:
        """Deadlines of three cases over two organisations, workflows, owners and statuses."""
        now = contract_clock.now()

        def made(  # noqa: PLR0917 - one row of the table below
            case_id: str,
            kind: str,
            hours: int,
            organisation: str,
            workflow: str,
            owner: str | None,
            status: str,
        ) -> Deadline:
            return Deadline(
                case_id=case_id,
                kind=kind,
                organisation=organisation,
                workflow=workflow,
                started_at=now,
                due_at=now + timedelta(hours=hours),
                owner=owner,
                status=status,
            )

        rows = {
            "a": made("c-1", "response_target", 30, _ORG, "psii", "inv-1", "open"),
            "b": made("c-1", "candour_notification", 10, _ORG, "psii", None, "met"),
            "c": made("c-2", "response_target", 20, _ORG, "swarm_huddle", "inv-2", "open"),
            "d": made("c-2", "triage_review", 20, _ORG, "swarm_huddle", "inv-1", "paused"),
            "e": made("c-3", "response_target", -5, _OTHER_ORG, "psii", "inv-1", "open"),
        }
        other = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], _OTHER_ORG)
        for case_id in ("c-1", "c-2", "c-3"):
            mine = tuple(d for d in rows.values() if d.case_id == case_id)
            actor = other if case_id == "c-3" else PSS
            store.commit(_open_change(contract_clock, case_id, actor=actor, deadlines=mine))
        return rows

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, "ebcda"),
            ({"organisations": {_ORG}}, "bcda"),
            ({"organisations": {_ORG, _OTHER_ORG}}, "ebcda"),
            ({"organisations": set()}, ""),
            ({"workflow": "psii"}, "eba"),
            ({"kind": "response_target"}, "eca"),
            ({"owner": "inv-1"}, "eda"),
            ({"case_ids": {"c-2", "c-3"}}, "ecd"),
            ({"case_ids": set()}, ""),
            ({"statuses": {"open", "paused"}}, "ecda"),
            ({"statuses": {"met"}}, "b"),
            ({"statuses": set()}, ""),
            ({"due_before": "20h"}, "ebcd"),
            ({"due_before": "-6h"}, ""),
            ({"limit": 2}, "eb"),
            (
                {"organisations": {_ORG}, "kind": "response_target", "statuses": {"open"}},
                "ca",
            ),
            ({"owner": "nobody"}, ""),
        ],
        ids=lambda v: str(v) if isinstance(v, str) else None,
    )
    def test_find_deadlines_filters_and_orders_by_due_then_key(
        self,
        store: Store,
        contract_clock: ManualClock,
        clocks: dict[str, Deadline],
        filters: dict[str, Any],
        expected: str,
    ) -> None:
        """Each filter keeps exactly its deadlines, earliest due first (then by key)."""
        chosen = dict(filters)
        if "due_before" in chosen:
            hours = int(chosen["due_before"].removesuffix("h"))
            chosen["due_before"] = contract_clock.now() + timedelta(hours=hours)
        found = store.find_deadlines(DeadlineQuery(**chosen))
        assert list(found) == [clocks[name] for name in expected]
