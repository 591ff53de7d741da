"""The sweeper and the engine's clocks: each due tier fires exactly once, never early.

The schedule core is replaced by a fake that hands the engine hand-made deadline and tier
rows (the real rules are tested with :mod:`psirf_flow.schedule`); everything else (the
engine, the stores, the relay) is real. Runs on the in-memory store and on SQLite (when
the SQL store has the escalation tables).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    Engine,
    InMemoryNotifier,
    InMemoryStore,
    InvalidInput,
    Role,
    Sweeper,
    SweepReport,
    SystemReader,
    _timekeeping,
)
from psirf_flow.decide import ESCALATION_RULE, ESCALATION_TRIGGER, decide_escalation
from psirf_flow.domain import (
    SYSTEM_ACTOR_ID,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
)
from psirf_flow.errors import ConcurrencyConflict, StoreUnavailable
from psirf_flow.log import ALLOWED_KEYS
from psirf_flow.ports import Store
from psirf_flow.relay import OutboxRelay
from psirf_flow.schedule import ScheduleChange
from psirf_flow.testing import ManualClock
from psirf_flow.testing.logs import capture_events
from psirf_flow.workflows import GUARDS, DefinitionRegistry
from psirf_flow.workflows.couplings import FollowUp
from psirf_flow.workflows.spec import (
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    define,
)


ORG = "RX1"
OPENED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)  # 00:00 BST on Thursday 11 June 2026
READER = SystemReader("sweeper-tests")
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)

TIMED = define(
    name="timed",
    version="1",
    family="timed",
    title="Timed record",
    states=("running", "converted", "done"),
    initial="running",
    final_states=("converted", "done"),
    opening=OpeningSpec(
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        fields=(
            FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),
            FieldSpec("lead_id", FieldKind.IDENTIFIER),
        ),
    ),
    transitions=(
        TransitionSpec(
            trigger="convert",
            sources=("running",),
            dest="converted",
            roles=(Role.SYSTEM,),
            summary="Converted by psirf_flow when the clock ran out.",
        ),
        TransitionSpec(
            trigger="hold_clock",
            sources=("running",),
            dest=SAME_STATE,
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            summary="Stands for a hold: the fake schedule pauses the pending tiers.",
        ),
        TransitionSpec(
            trigger="meet_quietly",
            sources=("running",),
            dest=SAME_STATE,
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            summary="The fake schedule meets the deadline and leaves its tiers as they are.",
        ),
        TransitionSpec(
            trigger="finish",
            sources=("running",),
            dest="done",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            summary="Finished in time.",
        ),
    ),
    guards=GUARDS,
)


def _deadline(case_id: str, **changes: Any) -> Deadline:
    return attrs.evolve(
        Deadline(
            case_id=case_id,
            kind="response_target",
            organisation=ORG,
            workflow="timed",
            started_at=OPENED,
            due_at=DUE,
            owner="lead-1",
        ),
        **changes,
    )


def _tier(  # noqa: PLR0917 - one row of a ladder reads best positionally
    case_id: str,
    tier: int,
    stage: str,
    fire_at: datetime,
    notify: tuple[str, ...],
    action: str | None = None,
) -> Escalation:
    return Escalation(
        case_id=case_id,
        kind="response_target",
        organisation=ORG,
        tier=tier,
        stage=stage,
        fire_at=fire_at,
        notify=notify,
        action=action,
    )


def _ladder(case_id: str, *, action: str | None = None) -> tuple[Escalation, ...]:
    return (
        _tier(case_id, 0, "warning", DUE - timedelta(days=2), ("learning_response_lead",)),
        _tier(case_id, 1, "breach", DUE, ("patient_safety_specialist",)),
        _tier(
            case_id,
            2,
            "escalation",
            DUE + timedelta(days=3),
            ("executive_lead", "patient_safety_specialist"),
            action,
        ),
    )


@attrs.define
class FakeSchedule:
    """Stands in for the schedule core, with hand-made rows.

    The opening starts one deadline and its ladder; ``finish`` meets it and cancels the
    tiers still pending, ``hold_clock`` pauses them and ``meet_quietly`` meets the deadline
    alone.
    """

    action: str | None = None
    calls: list[dict[str, Any]] = attrs.Factory(list)

    def __call__(self, **arguments: Any) -> ScheduleChange:
        """What ``plan_deadlines`` would answer for the step."""
        self.calls.append(arguments)
        after = arguments["after"]
        if arguments["trigger"] == "open":
            return ScheduleChange((_deadline(after.id),), _ladder(after.id, action=self.action))
        existing: Sequence[Deadline] = arguments["existing"]
        tiers: Sequence[Escalation] = arguments["tiers"]
        pending = [t for t in tiers if t.status == EscalationStatus.PENDING]
        if arguments["trigger"] == "hold_clock":
            return ScheduleChange(
                escalations=tuple(
                    attrs.evolve(t, status=EscalationStatus.PAUSED.value) for t in pending
                )
            )
        if arguments["trigger"] == "meet_quietly":
            return ScheduleChange(
                deadlines=tuple(
                    attrs.evolve(d, status=DeadlineStatus.MET.value, met_at=arguments["now"])
                    for d in existing
                )
            )
        if arguments["trigger"] == "finish":
            return ScheduleChange(
                tuple(
                    attrs.evolve(d, status=DeadlineStatus.MET.value, met_at=arguments["now"])
                    for d in existing
                ),
                tuple(
                    attrs.evolve(t, status=EscalationStatus.CANCELLED.value)
                    for t in tiers
                    if t.status == EscalationStatus.PENDING
                ),
            )
        return ScheduleChange()


@pytest.fixture(name="schedule")
def _schedule(monkeypatch: pytest.MonkeyPatch) -> FakeSchedule:
    fake = FakeSchedule()
    monkeypatch.setattr(_timekeeping, "plan_deadlines", fake)
    return fake


@pytest.fixture(name="store", params=["memory", "sqlite"])
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    from psirf_flow.store.sql import SqlStore

    store = SqlStore.open(str(tmp_path / "sweep.sqlite3"), migrate=True)
    yield store
    store.dispose()


@pytest.fixture(name="engine")
def _engine(store: Store, schedule: FakeSchedule) -> Engine:
    del schedule
    return Engine(
        store, clock=ManualClock(OPENED), definitions=DefinitionRegistry([TIMED]), couplings=()
    )


def _open(engine: Engine, case_id: str = "T-1") -> str:
    engine.open(
        "timed",
        actor=PSS,
        payload={"incident_ids": ["INC-1"], "lead_id": "lead-1"},
        case_id=case_id,
    )
    return case_id


def _clock(engine: Engine) -> ManualClock:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    return clock


def _fired_entries(engine: Engine, case_id: str) -> list[Any]:
    return [e for e in engine.history(case_id, reader=READER) if e.trigger == ESCALATION_TRIGGER]


class TestEngineClocks:
    """The engine commits the schedule core's answer with the step."""

    def test_opening_writes_the_deadlines_and_tiers_with_the_case(self, engine: Engine) -> None:
        """The deadline and its three tiers are stored by the opening commit."""
        case_id = _open(engine)

        assert engine.store.deadlines(case_id) == (_deadline(case_id),)
        assert engine.store.escalations(case_id) == _ladder(case_id)

    def test_schedule_core_is_given_the_step(self, engine: Engine, schedule: FakeSchedule) -> None:
        """Opening passes no case before and no rows; a step passes the case and its rows."""
        case_id = _open(engine)
        _clock(engine).advance(timedelta(hours=1))
        engine.fire(case_id, "finish", actor=PSS)

        opening, step = schedule.calls
        assert opening["before"] is None
        assert opening["trigger"] == "open"
        assert opening["existing"] == ()
        assert opening["tiers"] == ()
        assert opening["plan"] is None
        assert opening["now"] == OPENED
        assert opening["definition"] is TIMED
        assert step["before"].version == 1
        assert step["after"].version == 2
        assert step["trigger"] == "finish"
        assert (
            set(step)
            == set(opening)
            == {"definition", "before", "after", "trigger", "now", "plan", "existing", "tiers"}
        )
        assert step["now"] == OPENED + timedelta(hours=1)
        assert tuple(step["existing"]) == (_deadline(case_id),)
        assert tuple(step["tiers"]) == _ladder(case_id)

    def test_a_step_that_meets_the_deadline_stops_its_tiers(self, engine: Engine) -> None:
        """Tiers cancelled by a step never fire, however late the sweep."""
        case_id = _open(engine)
        engine.fire(case_id, "finish", actor=PSS)

        report = Sweeper(engine).sweep(DUE + timedelta(days=30))

        assert report == SweepReport()
        assert _fired_entries(engine, case_id) == []
        assert engine.store.deadlines(case_id)[0].status == DeadlineStatus.MET

    def test_step_events_are_written_when_asked(self, store: Store, schedule: FakeSchedule) -> None:
        """With step_events=True each committed step writes one event.step message."""
        del schedule
        engine = Engine(
            store,
            clock=ManualClock(OPENED),
            definitions=DefinitionRegistry([TIMED]),
            couplings=(),
            step_events=True,
        )
        case_id = _open(engine)
        engine.fire(case_id, "finish", actor=PSS)

        events = [m for m in store.outbox(case_id) if m.kind == "event.step"]
        assert [dict(m.body) for m in events] == [
            {
                "case_id": case_id,
                "organisation": ORG,
                "workflow": "timed",
                "trigger": "open",
                "to_state": "running",
                "sequence": 1,
            },
            {
                "case_id": case_id,
                "organisation": ORG,
                "workflow": "timed",
                "trigger": "finish",
                "from_state": "running",
                "to_state": "done",
                "sequence": 2,
            },
        ]
        assert [m.cause_sequence for m in events] == [1, 2]

    def test_step_events_must_be_a_flag(self, store: Store) -> None:
        """A step_events that is not a bool is refused, naming the argument."""
        with pytest.raises(InvalidInput, match="step_events"):
            Engine(store, clock=ManualClock(OPENED), step_events="yes")  # type: ignore[arg-type]


class TestFiring:
    """A due tier fires once, as an audited entry with its notifications."""

    def test_nothing_fires_before_fire_at(self, engine: Engine) -> None:
        """One second before the warning is due, nothing is claimed or fired."""
        case_id = _open(engine)

        report = Sweeper(engine).sweep(DUE - timedelta(days=2, seconds=1))

        assert report == SweepReport()
        assert _fired_entries(engine, case_id) == []
        assert all(t.status == EscalationStatus.PENDING for t in engine.store.escalations(case_id))

    def test_a_due_tier_fires_as_an_audited_entry(self, engine: Engine) -> None:
        """At fire_at the warning fires: one system entry, state kept, tier fired, count moved."""
        case_id = _open(engine)
        at = DUE - timedelta(days=2)

        report = Sweeper(engine).sweep(at)

        assert report == SweepReport(claimed=1, fired=1)
        (entry,) = _fired_entries(engine, case_id)
        assert entry.sequence == 2
        assert entry.actor_id == SYSTEM_ACTOR_ID
        assert entry.role == Role.SYSTEM.value
        assert entry.organisation == ORG
        assert entry.from_state == entry.to_state == "running"
        assert entry.rules == (ESCALATION_RULE,)
        assert entry.recorded_at == at
        assert dict(entry.data) == {
            "deadline": "response_target",
            "cycle": 0,
            "tier": 0,
            "stage": "warning",
            "scheduled_at": "2026-06-08T23:00:00Z",
            "fired_at": "2026-06-08T23:00:00Z",
            "late_seconds": 0,
            "due_at": "2026-06-10T23:00:00Z",
        }
        case = engine.get(case_id, reader=READER)
        assert case.version == 2
        assert case.state == "running"
        assert case.head_hash == entry.hash
        tiers = engine.store.escalations(case_id)
        assert tiers[0] == attrs.evolve(
            _ladder(case_id)[0], status=EscalationStatus.FIRED.value, fired_at=at
        )
        assert [t.status for t in tiers[1:]] == ["pending", "pending"]
        assert engine.store.deadlines(case_id) == (_deadline(case_id, tier=1),)
        assert engine.verify(case_id, reader=READER).ok

    def test_one_notification_per_recipient(self, engine: Engine) -> None:
        """The later tier writes one notify.escalation message per role, ids and codes only."""
        case_id = _open(engine)

        Sweeper(engine).sweep(DUE + timedelta(days=3))

        messages = [m for m in engine.store.outbox(case_id) if m.kind == "notify.escalation"]
        prefix = f"escalation:{case_id}:response_target:0"
        assert [m.id for m in messages] == [
            f"{prefix}:0:learning_response_lead",
            f"{prefix}:1:patient_safety_specialist",
            f"{prefix}:2:executive_lead",
            f"{prefix}:2:patient_safety_specialist",
        ]
        assert dict(messages[0].body) == {
            "case_id": case_id,
            "organisation": ORG,
            "kind": "response_target",
            "cycle": 0,
            "tier": 0,
            "stage": "warning",
            "role": "learning_response_lead",
            "person_id": "lead-1",
            "due_at": "2026-06-10T23:00:00Z",
        }
        assert "person_id" not in messages[2].body
        entries = _fired_entries(engine, case_id)
        assert [m.cause_sequence for m in messages] == [2, 3, 4, 4]
        assert [m.cause_hash for m in messages] == [
            entries[0].hash,
            entries[1].hash,
            entries[2].hash,
            entries[2].hash,
        ]

    def test_a_sweeper_that_was_down_fires_each_tier_once_and_records_lateness(
        self, engine: Engine
    ) -> None:
        """After downtime every due tier fires once, earliest first, with its lateness."""
        case_id = _open(engine)
        at = DUE + timedelta(days=5)

        report = Sweeper(engine).sweep(at)

        entries = _fired_entries(engine, case_id)
        assert [e.data["tier"] for e in entries] == [0, 1, 2]
        late = [int((at - t.fire_at).total_seconds()) for t in _ladder(case_id)]
        assert [e.data["late_seconds"] for e in entries] == late
        assert [e.data["fired_at"] for e in entries] == ["2026-06-15T23:00:00Z"] * 3
        assert report == SweepReport(
            claimed=3, fired=3, late_seconds_max=max(late), late_seconds_total=sum(late)
        )
        assert engine.store.deadlines(case_id)[0].tier == 3
        assert Sweeper(engine).sweep(at + timedelta(days=1)) == SweepReport()

    def test_two_sweepers_at_the_same_instant_fire_once(self, engine: Engine) -> None:
        """A second sweeper at the same instant finds nothing left to fire."""
        case_id = _open(engine)

        first = Sweeper(engine, claimant="a").sweep(DUE)
        second = Sweeper(engine, claimant="b").sweep(DUE)

        assert first.fired == 2
        assert second == SweepReport()
        assert len(_fired_entries(engine, case_id)) == 2

    def test_a_tier_fired_by_another_sweeper_is_skipped(self, engine: Engine) -> None:
        """A tier claimed by one sweeper whose lease ran out is fired by another, once."""
        case_id = _open(engine)
        at = DUE - timedelta(days=2)
        (stale,) = engine.store.claim_due(at, limit=10, claimant="slow", lease=timedelta(seconds=1))

        later = at + timedelta(seconds=2)
        assert Sweeper(engine, claimant="quick").sweep(later).fired == 1
        outcome = engine._escalate(stale, later)

        assert outcome == ("skipped", 0)
        assert len(_fired_entries(engine, case_id)) == 1

    def test_concurrent_sweepers_fire_each_tier_once(self, engine: Engine) -> None:
        """Four threads sweeping twenty cases at once produce one entry per due tier."""
        case_ids = [_open(engine, f"T-{n}") for n in range(20)]
        barrier = threading.Barrier(4)
        reports: list[SweepReport] = []

        def sweep(name: str) -> None:
            sweeper = Sweeper(engine, claimant=name, batch=3)
            barrier.wait()
            reports.append(sweeper.sweep(DUE))

        threads = [threading.Thread(target=sweep, args=(f"s{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sum(r.fired for r in reports) == 40
        for case_id in case_ids:
            fired = [(e.data["tier"]) for e in _fired_entries(engine, case_id)]
            assert sorted(fired) == [0, 1]
            assert engine.verify(case_id, reader=READER).ok

    @pytest.mark.parametrize("trigger", ["hold_clock", "finish"])
    def test_paused_and_cancelled_tiers_never_fire(self, engine: Engine, trigger: str) -> None:
        """A tier paused or cancelled after it was claimed is skipped, not fired."""
        case_id = _open(engine)
        (claimed,) = engine.store.claim_due(
            DUE - timedelta(days=2), limit=5, claimant="a", lease=timedelta(minutes=5)
        )
        engine.fire(case_id, trigger, actor=PSS)

        assert engine._escalate(claimed, DUE) == ("skipped", 0)
        assert Sweeper(engine).sweep(DUE + timedelta(days=9)) == SweepReport()
        assert _fired_entries(engine, case_id) == []

    def test_a_tier_of_a_deadline_no_longer_open_is_skipped(self, engine: Engine) -> None:
        """A pending tier whose deadline was met does not fire."""
        case_id = _open(engine)
        engine.fire(case_id, "meet_quietly", actor=PSS)

        report = Sweeper(engine).sweep(DUE)

        assert report == SweepReport(claimed=2, skipped=2)
        assert _fired_entries(engine, case_id) == []

    def test_a_conflict_is_retried_once_then_left(self, engine: Engine) -> None:
        """Two conflicting commits in a row leave the tier pending for the next sweep."""
        case_id = _open(engine)
        store = engine.store
        real_commit = store.commit

        def conflicting(change: Any) -> None:
            raise ConcurrencyConflict(change.case.id, change.expected_version)

        store.commit = conflicting  # type: ignore[method-assign]
        try:
            report = Sweeper(engine).sweep(DUE - timedelta(days=2))
        finally:
            store.commit = real_commit  # type: ignore[method-assign]

        assert report == SweepReport(claimed=1, conflicts=1)
        assert engine.store.escalations(case_id)[0].status == EscalationStatus.PENDING

    def test_a_failing_tier_does_not_stop_the_sweep(self, engine: Engine) -> None:
        """A store failure on one tier is counted and the others still fire."""
        first, second = _open(engine, "T-1"), _open(engine, "T-2")
        store = engine.store
        real = store.load_with_head

        def failing(case_id: str) -> Any:
            if case_id == first:
                raise StoreUnavailable("sqlite", "gone")
            return real(case_id)

        store.load_with_head = failing  # type: ignore[method-assign]
        try:
            report = Sweeper(engine).sweep(DUE - timedelta(days=2))
        finally:
            store.load_with_head = real  # type: ignore[method-assign]

        assert report == SweepReport(claimed=2, fired=1, failed=1)
        assert len(_fired_entries(engine, second)) == 1


class TestDecideEscalation:
    """The pure entry of a fired tier."""

    def test_a_tier_of_another_case_is_refused(self, engine: Engine) -> None:
        """decide_escalation refuses a tier that belongs to another case."""
        _open(engine)
        case = engine.store.load("T-1")
        with pytest.raises(InvalidInput, match="tier"):
            decide_escalation(case, _ladder("T-9")[0], now=DUE, payload={})


class TestActions:
    """A tier's action is fired on the case by the relay, once."""

    def test_the_action_fires_its_trigger_once(self, store: Store, monkeypatch: Any) -> None:
        """The escalation.action message fires the trigger as psirf_flow, exactly once."""
        monkeypatch.setattr(_timekeeping, "plan_deadlines", FakeSchedule(action="convert"))
        engine = Engine(
            store, clock=ManualClock(OPENED), definitions=DefinitionRegistry([TIMED]), couplings=()
        )
        case_id = _open(engine)
        Sweeper(engine).sweep(DUE + timedelta(days=3))
        (action,) = [m for m in store.outbox(case_id) if m.kind == "escalation.action"]
        assert action.id == f"escalation:{case_id}:response_target:0:2:action"
        assert dict(action.body) == {
            "case_id": case_id,
            "organisation": ORG,
            "trigger": "convert",
            "kind": "response_target",
            "cycle": 0,
            "tier": 2,
        }
        notifier = InMemoryNotifier()
        relay = OutboxRelay(engine, notifier=notifier)

        report = relay.run_until_idle()

        assert report.applied == 5  # four notifications and the action
        case = engine.get(case_id, reader=READER)
        assert case.state == "converted"
        last = engine.history(case_id, reader=READER)[-1]
        assert (last.trigger, last.actor_id, last.role) == ("convert", SYSTEM_ACTOR_ID, "system")
        assert store.outbox(case_id)[-1].outcome is not None
        assert {m.outcome for m in store.outbox(case_id)} == {"applied"}
        # Applied again with the same key (a relay that died before marking it): a replay.
        replay = engine._apply_follow_up(
            FollowUp(action="fire", target_case_id=case_id, trigger="convert"),
            workflow="timed",
            organisation=ORG,
            idempotency_key=action.id,
        )
        assert replay.replayed
        assert engine.get(case_id, reader=READER).version == case.version


class TestSweeperArguments:
    """Bad arguments are refused with InvalidInput naming them."""

    @pytest.mark.parametrize(
        ("arguments", "argument"),
        [
            ({"batch": 0}, "batch"),
            ({"batch": True}, "batch"),
            ({"lease": timedelta(0)}, "lease"),
            ({"lease": 30}, "lease"),
            ({"claimant": "has space"}, "claimant"),
        ],
    )
    def test_bad_arguments(self, engine: Engine, arguments: dict[str, Any], argument: str) -> None:
        """Each bad argument is named."""
        with pytest.raises(InvalidInput, match=argument):
            Sweeper(engine, **arguments)

    def test_engine_must_be_an_engine(self) -> None:
        """Something other than an Engine is refused."""
        with pytest.raises(InvalidInput, match="engine"):
            Sweeper(object())  # type: ignore[arg-type]

    def test_now_must_be_aware(self, engine: Engine) -> None:
        """A naive now is refused."""
        with pytest.raises(InvalidInput, match="now"):
            Sweeper(engine).sweep(datetime(2026, 6, 1))  # noqa: DTZ001

    @pytest.mark.parametrize("interval", [0, -1, True, "5", 86_401])
    def test_bad_interval(self, engine: Engine, interval: Any) -> None:
        """Run refuses an interval out of range."""
        with pytest.raises(InvalidInput, match="interval"):
            Sweeper(engine).run(threading.Event(), interval=interval)

    def test_stop_must_be_an_event(self, engine: Engine) -> None:
        """Run refuses a stop that is not a threading.Event."""
        with pytest.raises(InvalidInput, match="stop"):
            Sweeper(engine).run(object(), interval=1)  # type: ignore[arg-type]


class TestRun:
    """The loop sweeps until stopped, waiting on the event, never sleeping."""

    def test_run_stops_when_the_event_is_set(self, engine: Engine) -> None:
        """A stop set during a sweep ends the loop after that batch, with its totals."""
        case_id = _open(engine)
        _clock(engine).set(DUE)
        stop = threading.Event()
        store = engine.store
        real = store.claim_due

        def claim_then_stop(*args: Any, **kwargs: Any) -> Any:
            stop.set()
            return real(*args, **kwargs)

        store.claim_due = claim_then_stop  # type: ignore[method-assign]
        try:
            total = Sweeper(engine, batch=1).run(stop, interval=60)
        finally:
            store.claim_due = real  # type: ignore[method-assign]

        assert total == SweepReport(
            claimed=1, fired=1, late_seconds_max=2 * 86_400, late_seconds_total=2 * 86_400
        )
        assert len(_fired_entries(engine, case_id)) == 1

    def test_a_stopped_sweeper_does_nothing(self, engine: Engine) -> None:
        """Run with the event already set returns at once."""
        _open(engine)
        stop = threading.Event()
        stop.set()
        assert Sweeper(engine).run(stop, interval=1) == SweepReport()

    def test_a_failing_sweep_is_logged_and_retried(self, engine: Engine) -> None:
        """A store failure while claiming ends that sweep only; the loop goes on."""
        stop = threading.Event()
        store = engine.store
        real = store.claim_due
        calls: list[int] = []

        def flaky(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise StoreUnavailable("sqlite", "down")
            stop.set()
            return real(*args, **kwargs)

        store.claim_due = flaky  # type: ignore[method-assign]
        try:
            total = Sweeper(engine).run(stop, interval=0.001)
        finally:
            store.claim_due = real  # type: ignore[method-assign]

        assert len(calls) == 2
        assert total == SweepReport()

    def test_report_summary_is_one_line(self) -> None:
        """summary() names every count on one line."""
        report = SweepReport(claimed=3, fired=2, skipped=1, late_seconds_max=40)
        assert report.summary() == "claimed=3 fired=2 skipped=1 conflicts=0 failed=0 late_max_s=40"


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=0, max_value=5 * 24)),
        st.tuples(st.just("sweep"), st.integers(min_value=0, max_value=2)),
        st.tuples(st.just("finish"), st.integers(min_value=0, max_value=2)),
    ),
    max_size=25,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS)
def test_every_due_tier_fires_once_and_never_early(
    schedule: FakeSchedule, steps: list[tuple[str, int]]
) -> None:
    """Steps, clock advances and sweeps in any order: each due tier fired once or was cancelled."""
    del schedule
    clock = ManualClock(DUE - timedelta(days=4))
    engine = Engine(
        InMemoryStore(), clock=clock, definitions=DefinitionRegistry([TIMED]), couplings=()
    )
    case_ids = [_open(engine, f"T-{n}") for n in range(3)]
    sweepers = [Sweeper(engine, claimant=f"s{n}") for n in range(3)]
    for action, value in steps:
        if action == "advance":
            clock.advance(timedelta(hours=value))
        elif action == "sweep":
            sweepers[value].sweep()
        elif engine.get(case_ids[value], reader=READER).state == "running":
            engine.fire(case_ids[value], "finish", actor=PSS)
    sweepers[0].sweep()

    now = clock.now()
    for case_id in case_ids:
        entries = _fired_entries(engine, case_id)
        fired_tiers = [e.data["tier"] for e in entries]
        assert len(fired_tiers) == len(set(fired_tiers))
        for entry in entries:
            assert entry.data["fired_at"] >= entry.data["scheduled_at"]
            assert entry.data["late_seconds"] >= 0
        for tier in engine.store.escalations(case_id):
            if tier.status == EscalationStatus.FIRED:
                assert fired_tiers.count(tier.tier) == 1
                assert tier.fired_at is not None
                assert tier.fired_at >= tier.fire_at
            elif tier.fire_at <= now:
                assert tier.status == EscalationStatus.CANCELLED
                assert tier.tier not in fired_tiers
        assert engine.verify(case_id, reader=READER).ok


class TestLogging:
    """The sweeper logs allow-listed keys only: ids, codes and counts."""

    def test_fired_tiers_and_sweeps_are_logged(self, engine: Engine) -> None:
        """Each fired tier and each sweep that claimed something log one INFO event."""
        case_id = _open(engine)
        sweeper = Sweeper(engine, claimant="logger-test")

        with capture_events(logging.INFO) as events:
            sweeper.sweep(DUE + timedelta(hours=1))

        fired = [e for e in events if e["event"] == "psirf_flow.escalation_fired"]
        assert [(e["case_id"], e["kind"], e["tier"], e["stage"]) for e in fired] == [
            (case_id, "response_target", 0, "warning"),
            (case_id, "response_target", 1, "breach"),
        ]
        assert [e["late_seconds"] for e in fired] == [2 * 86_400 + 3600, 3600]
        (finished,) = [e for e in events if e["event"] == "psirf_flow.sweep_finished"]
        assert (finished["claimed"], finished["fired"], finished["late_seconds"]) == (2, 2, 176_400)
        assert all(set(e) <= ALLOWED_KEYS for e in events)
        assert sweeper.claimant == "logger-test"

    def test_a_failed_tier_is_a_warning(self, engine: Engine) -> None:
        """A tier that fails logs a WARNING with its ids and the error code, nothing else."""
        case_id = _open(engine)
        store = engine.store
        real = store.load_with_head

        def failing(case_id: str) -> Any:
            raise StoreUnavailable("sqlite", f"gone while reading {case_id}")

        store.load_with_head = failing  # type: ignore[method-assign]
        try:
            with capture_events(logging.WARNING) as events:
                Sweeper(engine).sweep(DUE)
            with capture_events(logging.ERROR) as silent:
                Sweeper(engine).sweep(DUE + timedelta(days=1))
        finally:
            store.load_with_head = real  # type: ignore[method-assign]

        assert [(e["event"], e["case_id"], e["tier"], e["error_code"]) for e in events] == [
            ("psirf_flow.escalation_failed", case_id, 0, StoreUnavailable.code),
            ("psirf_flow.escalation_failed", case_id, 1, StoreUnavailable.code),
        ]
        assert silent == []
