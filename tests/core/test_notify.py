"""Notifications and events reach the host through the relay, at least once, deduped by id.

A fake schedule core gives each opened case one deadline with a breach tier notifying two
roles (and, when asked, an action); the engine, the in-memory store, the sweeper and the
relay are real.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from psirf_flow import (
    Actor,
    Engine,
    InMemoryNotifier,
    InMemoryStore,
    InvalidInput,
    LogNotifier,
    Notification,
    Notifier,
    Role,
    Sweeper,
    _timekeeping,
)
from psirf_flow.decide import decide_open
from psirf_flow.domain import Command, Deadline, Escalation, OutboxMessage
from psirf_flow.ports import Change
from psirf_flow.relay import DEFAULT_BASE_DELAY, OutboxRelay
from psirf_flow.schedule import ScheduleChange
from psirf_flow.testing import ManualClock
from psirf_flow.testing.logs import capture_events
from psirf_flow.workflows import GUARDS, DefinitionRegistry
from psirf_flow.workflows.spec import FieldKind, FieldSpec, OpeningSpec, TransitionSpec, define


ORG = "RX1"
OPENED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
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
        fields=(FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),),
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
            trigger="finish",
            sources=("running",),
            dest="done",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            summary="Finished by a person.",
        ),
    ),
    guards=GUARDS,
)


def _fake_schedule(action: str | None) -> Any:
    def plan(**arguments: Any) -> ScheduleChange:
        after = arguments["after"]
        if arguments["trigger"] != "open":
            return ScheduleChange()
        deadline = Deadline(
            case_id=after.id,
            kind="candour_notification",
            organisation=ORG,
            workflow="timed",
            started_at=OPENED,
            due_at=DUE,
        )
        tier = Escalation(
            case_id=after.id,
            kind="candour_notification",
            organisation=ORG,
            tier=0,
            stage="breach",
            fire_at=DUE,
            notify=("patient_safety_specialist", "executive_lead"),
            action=action,
        )
        return ScheduleChange((deadline,), (tier,))

    return plan


class Flaky:
    """A notifier that hands each notification on, then fails the first ``failures`` calls.

    As a mail server that accepts a message and drops the line before answering.
    """

    def __init__(self, inner: InMemoryNotifier, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def send(self, notification: Notification) -> None:
        """Hand on, then maybe fail."""
        self.inner.send(notification)
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("mail server went away after accepting")


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(OPENED)


def _engine(
    monkeypatch: pytest.MonkeyPatch, clock: ManualClock, *, action: str | None = None, **kw: Any
) -> Engine:
    monkeypatch.setattr(_timekeeping, "plan_deadlines", _fake_schedule(action))
    return Engine(
        InMemoryStore(),
        clock=clock,
        definitions=DefinitionRegistry([TIMED]),
        couplings=(),
        **kw,
    )


def _fired(engine: Engine, clock: ManualClock, case_id: str = "T-1") -> str:
    engine.open("timed", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id=case_id)
    clock.set(DUE + timedelta(hours=1))
    assert Sweeper(engine).sweep().fired == 1
    return case_id


class TestDelivery:
    """notify.* messages go to the notifier, once per recipient, deduped by id."""

    def test_one_notification_per_recipient(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """The breach tells both roles, with ids and codes only."""
        engine = _engine(monkeypatch, clock)
        case_id = _fired(engine, clock)
        notifier = InMemoryNotifier()

        report = OutboxRelay(engine, notifier=notifier).run_until_idle()

        assert report.applied == 2
        prefix = f"escalation:{case_id}:candour_notification:0:0"
        assert notifier.sent == (
            Notification(
                id=f"{prefix}:patient_safety_specialist",
                kind="notify.escalation",
                case_id=case_id,
                organisation=ORG,
                body={
                    "case_id": case_id,
                    "organisation": ORG,
                    "kind": "candour_notification",
                    "cycle": 0,
                    "tier": 0,
                    "stage": "breach",
                    "role": "patient_safety_specialist",
                    "due_at": "2026-03-05T00:00:00Z",
                },
            ),
            Notification(
                id=f"{prefix}:executive_lead",
                kind="notify.escalation",
                case_id=case_id,
                organisation=ORG,
                body={
                    "case_id": case_id,
                    "organisation": ORG,
                    "kind": "candour_notification",
                    "cycle": 0,
                    "tier": 0,
                    "stage": "breach",
                    "role": "executive_lead",
                    "due_at": "2026-03-05T00:00:00Z",
                },
            ),
        )
        assert {m.outcome for m in engine.store.outbox(case_id)} == {"applied"}

    def test_delivered_twice_kept_once(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """A delivery that fails after handing on is retried; the notifier keeps it once."""
        engine = _engine(monkeypatch, clock)
        case_id = _fired(engine, clock)
        kept = InMemoryNotifier()
        relay = OutboxRelay(engine, notifier=Flaky(kept, failures=2))

        first = relay.run_once()
        deferred = engine.store.outbox(case_id)
        clock.advance(DEFAULT_BASE_DELAY)
        second = relay.run_once()

        assert (first.failed, first.applied) == (2, 0)
        assert [(m.attempts, m.last_error, m.outcome) for m in deferred] == [
            (1, "unexpected_error", None),
            (1, "unexpected_error", None),
        ]
        assert all(
            m.next_attempt_at == DUE + timedelta(hours=1) + DEFAULT_BASE_DELAY for m in deferred
        )
        assert second.applied == 2
        assert kept.deliveries == 4
        assert len(kept.sent) == 2
        assert len({n.id for n in kept.sent}) == 2

    def test_listeners_hear_notifications_and_step_events(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """Listeners get notify.* and event.* messages; the notifier only notify.* ones."""
        engine = _engine(monkeypatch, clock, step_events=True)
        case_id = _fired(engine, clock)
        notifier, listener = InMemoryNotifier(), InMemoryNotifier()

        OutboxRelay(engine, notifier=notifier, listeners=[listener]).run_until_idle()

        assert [n.kind for n in notifier.sent] == ["notify.escalation"] * 2
        assert [n.kind for n in listener.sent] == [
            "event.step",
            "notify.escalation",
            "notify.escalation",
            "event.step",
        ]
        opening, fired = listener.sent[0], listener.sent[3]
        assert dict(opening.body) == {
            "case_id": case_id,
            "organisation": ORG,
            "workflow": "timed",
            "trigger": "open",
            "to_state": "running",
            "sequence": 1,
        }
        assert dict(fired.body)["trigger"] == "escalation_fired"
        assert dict(fired.body)["sequence"] == 2

    def test_the_default_notifier_logs_ids_only(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """Without a notifier, each notification is logged with allow-listed keys."""
        engine = _engine(monkeypatch, clock)
        case_id = _fired(engine, clock)

        with capture_events(logging.INFO) as events:
            OutboxRelay(engine).run_until_idle()

        logged = [e for e in events if e["event"] == "psirf_flow.notification"]
        assert [(e["case_id"], e["role"], e["trigger"]) for e in logged] == [
            (case_id, "patient_safety_specialist", "notify.escalation"),
            (case_id, "executive_lead", "notify.escalation"),
        ]
        assert all(e["organisation"] == ORG for e in logged)

    def test_log_notifier_is_silent_below_info(self) -> None:
        """LogNotifier writes nothing when INFO is off."""
        with capture_events(logging.WARNING) as events:
            LogNotifier().send(Notification("n-1", "notify.escalation", "c-1", ORG, {}))
        assert events == []

    def test_notifiers_satisfy_the_protocol(self) -> None:
        """Both shipped notifiers are Notifiers."""
        assert isinstance(LogNotifier(), Notifier)
        assert isinstance(InMemoryNotifier(), Notifier)


class TestTrust:
    """The relay hands on only what the case's verified trail caused."""

    def _forge(self, engine: Engine, clock: ManualClock, message: OutboxMessage) -> None:
        definition = engine.definitions.latest("timed")
        assert definition is not None
        decision = decide_open(
            definition,
            case_id="carrier-1",
            organisation=ORG,
            command=Command("open", PSS, {"incident_ids": ["INC-0"]}),
            now=clock.now(),
        )
        engine.store.commit(Change(decision.case, None, decision.entry, outbox=(message,)))

    def test_a_forged_notification_is_dead(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """A notify message whose cause is not in the case's trail is never handed on."""
        engine = _engine(monkeypatch, clock)
        case_id = _fired(engine, clock)
        genuine = engine.store.outbox(case_id)[0]
        self._forge(engine, clock, attrs.evolve(genuine, id="forged-1", cause_hash="0" * 64))
        notifier = InMemoryNotifier()

        OutboxRelay(engine, notifier=notifier).run_until_idle()

        outcomes = {m.id: m.outcome for m in engine.store.outbox("carrier-1")}
        assert outcomes["forged-1"] == "dead:untrusted_cause"
        assert "forged-1" not in {n.id for n in notifier.sent}
        assert len(notifier.sent) == 2

    @pytest.mark.parametrize(
        "changes",
        [
            {"id": "forged-action"},
            {"body": {"trigger": "convert", "case_id": "T-1", "organisation": ORG}},
        ],
        ids=["other-id", "action-on-a-tier-without-one"],
    )
    def test_a_forged_action_is_dead(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock, changes: dict[str, Any]
    ) -> None:
        """An action message that is not the one the fired tier wrote fires nothing."""
        engine = _engine(monkeypatch, clock, action="convert")
        case_id = _fired(engine, clock)
        (genuine,) = [m for m in engine.store.outbox(case_id) if m.kind == "escalation.action"]
        if "id" not in changes:
            # A message on a tier without an action: the entry records none.
            monkeypatch.setattr(_timekeeping, "plan_deadlines", _fake_schedule(None))
            _fired(engine, clock, "T-2")
            entry = engine.store.history("T-2")[1]
            changes = {
                **changes,
                "id": "escalation:T-2:candour_notification:0:0:action",
                "case_id": "T-2",
                "cause_hash": entry.hash,
                "cause_sequence": 2,
            }
        forged = attrs.evolve(genuine, **changes)
        self._forge(engine, clock, forged)
        relay = OutboxRelay(engine, notifier=InMemoryNotifier())

        relay.run_until_idle()

        forged_outcome = next(
            m.outcome for m in engine.store.outbox("carrier-1") if m.id == forged.id
        )
        assert forged_outcome == "dead:untrusted_cause"
        # Only the genuine action (on T-1) ever converts a case, once.
        converts = [
            e.case_id for e in engine.store.history(forged.case_id) if e.trigger == "convert"
        ]
        assert converts == (["T-1"] if forged.case_id == "T-1" else [])


class TestActions:
    """The relay applies a fired tier's action once, or records why not."""

    def test_an_action_the_case_no_longer_allows_is_skipped(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """A case finished after the tier fired skips the action, with the reason recorded."""
        engine = _engine(monkeypatch, clock, action="convert")
        case_id = _fired(engine, clock)
        engine.fire(case_id, "finish", actor=PSS)

        OutboxRelay(engine, notifier=InMemoryNotifier()).run_until_idle()

        (action,) = [m for m in engine.store.outbox(case_id) if m.kind == "escalation.action"]
        assert action.outcome == "skipped:not_allowed_in_state"
        assert engine.store.load(case_id).state == "done"
        assert [e.trigger for e in engine.store.history(case_id)] == [
            "open",
            "escalation_fired",
            "finish",
        ]

    def test_an_action_psirf_flow_may_not_take_is_rejected(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """An action whose trigger the system role may not fire is rejected, for a person."""
        engine = _engine(monkeypatch, clock, action="finish")
        case_id = _fired(engine, clock)

        OutboxRelay(engine, notifier=InMemoryNotifier()).run_until_idle()

        (action,) = [m for m in engine.store.outbox(case_id) if m.kind == "escalation.action"]
        assert action.outcome == "rejected:role_not_permitted"
        assert engine.store.load(case_id).state == "running"

    def test_a_second_delivery_of_an_action_is_a_replay(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """Delivering the action again (a relay that died before marking it) writes nothing."""
        engine = _engine(monkeypatch, clock, action="convert")
        case_id = _fired(engine, clock)
        (action,) = [m for m in engine.store.outbox(case_id) if m.kind == "escalation.action"]
        relay = OutboxRelay(engine, notifier=InMemoryNotifier())
        relay.run_until_idle()

        outcome = relay._deliver(action)

        assert outcome == "replayed"
        assert [e.trigger for e in engine.store.history(case_id)] == [
            "open",
            "escalation_fired",
            "convert",
        ]


class TestRelayArguments:
    """The relay refuses notifiers and listeners without ``send``."""

    @pytest.mark.parametrize(
        ("arguments", "argument"),
        [
            ({"notifier": object()}, "notifier"),
            ({"listeners": "abc"}, "listeners"),
            ({"listeners": 3}, "listeners"),
            ({"listeners": [object()]}, "listeners"),
        ],
    )
    def test_bad_notifiers(
        self,
        monkeypatch: pytest.MonkeyPatch,
        clock: ManualClock,
        arguments: dict[str, Any],
        argument: str,
    ) -> None:
        """Each bad argument is named."""
        engine = _engine(monkeypatch, clock)
        with pytest.raises(InvalidInput, match=argument):
            OutboxRelay(engine, **arguments)
