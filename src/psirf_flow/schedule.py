"""Deadlines and escalation tiers from the plan, as a pure function of one step.

[`plan_deadlines`][psirf_flow.schedule.plan_deadlines] says what one accepted step does to a case's
clocks: which deadlines it starts, meets, clears, pauses, resumes, supersedes or restarts, and the
escalation tiers of each. The engine commits the result in the same transaction as the
step. [`fired_tier`][psirf_flow.schedule.fired_tier] and
[`tiers_after_fire`][psirf_flow.schedule.tiers_after_fire] are what firing one tier records. The
counting rules are [`psirf_flow.policy.timing`][psirf_flow.policy.timing] (Europe/London dates for
day rules, real time for hours).

**The kinds** (one row per case, kind and cycle; psirf-rules §4, §9), each with what
starts it and what meets it:

* ``triage_review``: an intake's report, ``[timescales] triage_review`` (default 72 hours);
  met on leaving review (a response decision, "no further response", a referral or a
  transfer).
* ``response_target``: a learning response whose response type has a timescale (a PSII
  always: three months by default), from the appointment of its lead for a PSII (or any
  variant stamping ``started_on``) and from opening for the others; met on approval, or for
  a swarm huddle or hot debrief when it is held (``complete_analysis``).
* ``response_hard_cap``: as the target, when the response type has a hard cap (a PSII: six
  months, [`effective_hard_cap`][psirf_flow.policy.plan.ResponseType.effective_hard_cap]).
* ``candour_notification``: a candour case's opening, counted from awareness;
  met by ``record_verbal_notification``.
* ``candour_written``: the verbal notification; met by ``record_written_notification``.
* ``candour_findings``: ``learning_response_approved``, or ``record_enquiries_concluded``
  when other enquiries conclude (whichever comes first: the lifecycle's lateness rule
  counts from either); met by ``record_findings_shared``.
* ``referral_notification``: a referral's opening, ``[timescales] referral_notification``
  (default 2 working days); met by ``record_notification``.
* ``safety_action_due``: ``agree``, due on the action's ``due_on``; met by
  ``mark_implemented``.

**What else moves them.** A step into a final state clears (``cleared``) whatever is still
open; so do ``determine_not_notifiable`` and ``mark_uncontactable_or_declined`` for the
candour notification. A step that puts the case on hold pauses every open deadline and its
pending tiers; resuming moves due dates and tiers later by the time on hold (whole local
days for a day rule, exact time for an hours rule) and reopens them. A new clock for the
same kind supersedes the open one (``superseded``) with a new cycle: a PSII's agreed target
date (``agree_timescale``), an approved extension (``approve_extension``), the executive's
override of the hard cap (``override_hard_cap``, which moves the cap and the target), a
revised safety action (``revise``). Reopening a learning response, or a candour case
(``reopen``, ``reassess``, ``relevant_person_engages``), starts new clocks from the
reopening instant; the old rows are kept. A refused extension changes nothing. A clock
started while the case is on hold (an extension approved during a hold) starts paused.

**Cycles.** A kind's first row is cycle 0; each later row of that kind on the case is one
more than the highest so far, so superseded and reopened clocks stay in the record.

**Tiers.** A deadline's tiers come from the plan's escalation ladder for its kind (a
response type's ``escalation_ladder``, ``duty_of_candour.escalation_ladder``,
``[timescales]`` ladders), or [`DEFAULT_LADDER`][psirf_flow.schedule.DEFAULT_LADDER] (a breach at
due to the patient safety specialist). They are numbered from 0 in firing order; a warning that
would fire before the deadline exists is left out.

Without a plan the built-in defaults apply: PSII three months and a six-month cap
(national guidance whose wording was not retrieved, psirf-rules §4.1 ✖), candour ten
working days for each step (a local convention, never statutory, §4.2), triage 72 hours
and referral notice two working days (local, §4.1, §4.4), the England and Wales calendar,
and the default ladder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import attrs

from psirf_flow.domain import (
    Case,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
    FactValue,
    Role,
)
from psirf_flow.policy.calendars import UK_TIME, Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.plan import (
    PSII_DEFAULT_HARD_CAP,
    CandourTargets,
    ClockSettings,
    EscalationLadder,
    EscalationTier,
    LifecycleVariant,
    Plan,
    ResponseType,
)
from psirf_flow.policy.timing import Due, due, due_on, local_midnight, offset_instant
from psirf_flow.workflows.guards import PRIORITY_FACT, fact_date
from psirf_flow.workflows.spec import PREVIOUS_STATE, WorkflowDefinition


__all__ = [
    "CANDOUR_FINDINGS",
    "CANDOUR_NOTIFICATION",
    "CANDOUR_WRITTEN",
    "DEFAULT_LADDER",
    "KINDS",
    "PSII_DEFAULT_TIMESCALE",
    "REFERRAL_NOTIFICATION",
    "RESPONSE_HARD_CAP",
    "RESPONSE_TARGET",
    "SAFETY_ACTION_DUE",
    "TRIAGE_REVIEW",
    "FiredTier",
    "Recipient",
    "ScheduleChange",
    "build_tiers",
    "fired_tier",
    "plan_deadlines",
    "tiers_after_fire",
]

TRIAGE_REVIEW: Final = "triage_review"
"""The deadline kind for reviewing an intake's report (``triage_review``)."""
RESPONSE_TARGET: Final = "response_target"
"""The deadline kind for a learning response's target date (``response_target``)."""
RESPONSE_HARD_CAP: Final = "response_hard_cap"
"""The deadline kind for a learning response's hard cap (``response_hard_cap``)."""
CANDOUR_NOTIFICATION: Final = "candour_notification"
"""The deadline kind for the verbal candour notification (``candour_notification``)."""
CANDOUR_WRITTEN: Final = "candour_written"
"""The deadline kind for the written candour notification (``candour_written``)."""
CANDOUR_FINDINGS: Final = "candour_findings"
"""The deadline kind for sharing findings under candour (``candour_findings``)."""
REFERRAL_NOTIFICATION: Final = "referral_notification"
"""The deadline kind for notifying a referral's body (``referral_notification``)."""
SAFETY_ACTION_DUE: Final = "safety_action_due"
"""The deadline kind for implementing an agreed safety action (``safety_action_due``)."""

KINDS: Final = (
    TRIAGE_REVIEW,
    RESPONSE_TARGET,
    RESPONSE_HARD_CAP,
    CANDOUR_NOTIFICATION,
    CANDOUR_WRITTEN,
    CANDOUR_FINDINGS,
    REFERRAL_NOTIFICATION,
    SAFETY_ACTION_DUE,
)
"""Every deadline kind, in the order of the table above."""

DEFAULT_LADDER: Final = EscalationLadder(
    tiers=(
        EscalationTier(
            after=Timescale(0, TimeUnit.WORKING_DAYS), notify=(Role.PATIENT_SAFETY_SPECIALIST,)
        ),
    )
)
"""The ladder of a deadline whose plan names none: a breach at due to the patient safety
specialist (psirf-rules §9.4: the patient safety team is the first escalation)."""

PSII_DEFAULT_TIMESCALE: Final = Timescale(3, TimeUnit.MONTHS)
"""A PSII's target without a plan: three months from its start (psirf-rules §4.1: "one to
three months", national guidance whose figure was not retrieved, ✖)."""

_DEFAULT_CALENDAR: Final = WorkingDayCalendar()
_LIVE: Final = frozenset({DeadlineStatus.OPEN.value, DeadlineStatus.PAUSED.value})
_WAITING: Final = frozenset({EscalationStatus.PENDING.value, EscalationStatus.PAUSED.value})
# Steps of a learning response held rather than approved: the huddle is the work.
_HELD_WHEN_ANALYSED: Final = frozenset(
    {LifecycleVariant.SWARM_HUDDLE.value, LifecycleVariant.HOT_DEBRIEF.value}
)
# The steps that move a PSII's clocks to the agreed (``target_date``) date.
_MOVED_BY: Final[Mapping[str, tuple[str, ...]]] = {
    "agree_timescale": (RESPONSE_TARGET,),
    "approve_extension": (RESPONSE_TARGET,),
    "override_hard_cap": (RESPONSE_TARGET, RESPONSE_HARD_CAP),
}
_INTAKE_REVIEW_STATES: Final = frozenset({"reported", "under_review"})
# The candour steps that make findings available to share (the lifecycle stamps
# ``findings_available_on`` on either, and counts the findings' lateness from it).
_FINDINGS_AVAILABLE: Final = frozenset({"learning_response_approved", "record_enquiries_concluded"})
# Facts a candour case may carry saying when the organisation became aware (an aware ISO
# instant, or a date counted from 00:00 local).
_AWARENESS_FACTS: Final = ("aware_at", "became_aware_at", "aware_on", "became_aware_on")
# The person a role names on a case, by fact (first present wins).
_PERSON_FACTS: Final[Mapping[str, tuple[str, ...]]] = {
    Role.LEARNING_RESPONSE_LEAD.value: ("lead_id", "facilitator_id"),
    Role.FACILITATOR.value: ("facilitator_id", "lead_id"),
    Role.ENGAGEMENT_LEAD.value: ("engagement_lead_id",),
    Role.ACTION_OWNER.value: ("owner_id",),
}
# The fact naming who answers for a case's deadlines, by family (first present wins).
_OWNER_FACTS: Final[Mapping[str, tuple[str, ...]]] = {
    "learning_response": ("lead_id", "facilitator_id"),
    "safety_action": ("owner_id",),
}


@attrs.frozen
class ScheduleChange:
    """What one step does to a case's clocks: rows to insert or replace.

    Attributes:
        deadlines: Deadlines new or changed by the step.
        escalations: Escalation tiers new or changed by the step.
    """

    deadlines: tuple[Deadline, ...] = ()
    escalations: tuple[Escalation, ...] = ()


@attrs.frozen
class Recipient:
    """Who one notification of a fired tier goes to.

    Attributes:
        role: The role told (a [`Role`][psirf_flow.domain.Role] value).
        person_id: The person holding that role on the case, when the case names one (the
            lead, facilitator, engagement lead or action owner); ``None`` otherwise (the
            host routes by role).
    """

    role: str
    person_id: str | None = None


@attrs.frozen
class FiredTier:
    """What firing one tier records.

    Attributes:
        payload: The audit entry's payload: ``deadline`` (the kind), ``cycle``, ``tier``,
            ``stage``, ``scheduled_at`` and ``fired_at`` (ISO 8601 UTC text, ``Z``),
            ``late_seconds`` (whole seconds after ``scheduled_at``, never negative), the
            deadline's ``due_at``, and the tier's ``action`` when it has one.
        recipients: One per role the tier notifies, in the ladder's order.
        escalation: The tier as ``fired`` (``fired_at`` set).
        deadline: The deadline with its fired-tier count updated.
    """

    payload: Mapping[str, FactValue]
    recipients: tuple[Recipient, ...]
    escalation: Escalation
    deadline: Deadline


def _utc(moment: datetime) -> datetime:
    """The same instant in UTC (records keep UTC; the instant alone is what compares)."""
    return moment.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    """ISO 8601 text of an aware instant in UTC, ending ``Z``."""
    offset = moment.utcoffset() or timedelta(0)
    return (moment.replace(tzinfo=None) - offset).isoformat() + "Z"


def tiers_after_fire(deadline: Deadline, tier: Escalation) -> Deadline:
    """The deadline once ``tier`` has fired: its tier count covers that tier (never less)."""
    return attrs.evolve(deadline, tier=max(deadline.tier, tier.tier + 1))


def fired_tier(tier: Escalation, deadline: Deadline, case: Case, now: datetime) -> FiredTier:
    """The audit payload, recipients and changed rows of firing ``tier`` at ``now``.

    Args:
        tier: The tier being fired (pending and due).
        deadline: Its deadline.
        case: The case, whose facts name the people holding the notified roles.
        now: The instant it fires (aware).
    """
    late = max(0, int((now - tier.fire_at).total_seconds()))
    payload: dict[str, FactValue] = {
        "deadline": tier.kind,
        "cycle": tier.cycle,
        "tier": tier.tier,
        "stage": tier.stage,
        "scheduled_at": _utc_text(tier.fire_at),
        "fired_at": _utc_text(now),
        "late_seconds": late,
        "due_at": _utc_text(deadline.due_at),
    }
    if tier.action is not None:
        payload["action"] = tier.action
    seen: set[str] = set()
    recipients: list[Recipient] = []
    for role in tier.notify:
        if role in seen:
            continue
        seen.add(role)
        recipients.append(Recipient(role, _person(case.facts, _PERSON_FACTS.get(role, ()))))
    fired = attrs.evolve(tier, status=EscalationStatus.FIRED.value, fired_at=_utc(now))
    return FiredTier(
        payload=payload,
        recipients=tuple(recipients),
        escalation=fired,
        deadline=tiers_after_fire(deadline, tier),
    )


def _person(facts: Mapping[str, FactValue], names: Iterable[str]) -> str | None:
    for name in names:
        value = facts.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# ---------------------------------------------------------------- settings


@attrs.frozen
class _Clock:
    """A kind's timescale and the ladder it follows."""

    timescale: Timescale
    ladder_name: str | None


@attrs.frozen
class _ResponseClocks:
    """A learning response's target and hard cap (``None``: it has none) and their ladder."""

    target: Timescale | None
    cap: Timescale | None
    ladder: str | None


@attrs.frozen
class _Settings:
    """The plan's settings the schedule reads, with the built-in defaults applied."""

    plan: Plan | None
    calendar: WorkingDayCalendar
    candour: CandourTargets
    clocks: ClockSettings

    @classmethod
    def of(cls, plan: Plan | None) -> _Settings:
        if plan is None:
            return _DEFAULT_SETTINGS
        # A plan is frozen: its settings are built once (keyed by identity, the plan kept).
        known = _PLAN_SETTINGS.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        settings = cls(plan, plan.working_calendar(), plan.duty_of_candour, plan.timescales)
        if len(_PLAN_SETTINGS) >= _PLAN_SETTINGS_KEPT:
            _PLAN_SETTINGS.clear()
        _PLAN_SETTINGS[id(plan)] = (plan, settings)
        return settings

    def ladder(self, name: str | None) -> EscalationLadder:
        if self.plan is not None and name is not None and name in self.plan.escalation_ladders:
            return self.plan.escalation_ladders[name]
        return DEFAULT_LADDER

    def response_type(self, definition: WorkflowDefinition, case: Case) -> ResponseType | None:
        """The case's response type (its ``response_type`` fact), else the lifecycle's own."""
        if self.plan is None:
            return None
        types = self.plan.response_types
        named = case.facts.get("response_type")
        if isinstance(named, str) and named in types:
            return types[named]
        if definition.name in types and types[definition.name].maps_to.value == definition.name:
            return types[definition.name]
        for rt in types.values():
            if rt.maps_to.value == definition.name:
                return rt
        return None

    def response_clocks(self, definition: WorkflowDefinition, case: Case) -> _ResponseClocks:
        """The target, hard cap and ladder of a learning response (a PSII always has both)."""
        rt = self.response_type(definition, case)
        psii = definition.name == LifecycleVariant.PSII.value
        if rt is None or self.plan is None:
            return _PSII_DEFAULT_CLOCKS if psii else _NO_CLOCKS
        name = next(key for key, value in self.plan.response_types.items() if value is rt)
        priority = case.facts.get(PRIORITY_FACT)
        target = self.plan.timescale_for(name, priority if isinstance(priority, str) else None)
        if target is None and psii:
            target = PSII_DEFAULT_TIMESCALE
        return _ResponseClocks(target, rt.effective_hard_cap, rt.escalation_ladder)

    def candour_clock(self, kind: str) -> _Clock:
        days = {
            CANDOUR_NOTIFICATION: self.candour.verbal_working_days,
            CANDOUR_WRITTEN: self.candour.written_working_days,
            CANDOUR_FINDINGS: self.candour.findings_working_days,
        }[kind]
        return _Clock(Timescale(days, TimeUnit.WORKING_DAYS), self.candour.escalation_ladder)


_DEFAULT_SETTINGS: Final = _Settings(None, _DEFAULT_CALENDAR, CandourTargets(), ClockSettings())
"""The settings without a plan (the built-in defaults), built once."""
_PLAN_SETTINGS: dict[int, tuple[Plan, _Settings]] = {}
"""Each plan's settings, built on first use (plans are frozen; a host holds a few versions)."""
_PLAN_SETTINGS_KEPT: Final = 64
_PSII_DEFAULT_CLOCKS: Final = _ResponseClocks(PSII_DEFAULT_TIMESCALE, PSII_DEFAULT_HARD_CAP, None)
_NO_CLOCKS: Final = _ResponseClocks(None, None, None)


def _starts_with_lead(definition: WorkflowDefinition) -> bool:
    """A variant whose clock starts when its lead is appointed (it stamps ``started_on``)."""
    spec = definition.transitions.get("assign_lead")
    return spec is not None and spec.stamp_fact == "started_on"


# ---------------------------------------------------------------- the working set


class _Rows:
    """The case's deadlines and tiers as the step changes them, remembering what changed."""

    def __init__(
        self,
        case: Case,
        *,
        family: str,
        settings: _Settings,
        existing: Sequence[Deadline],
        tiers: Sequence[Escalation],
        now: datetime,
    ) -> None:
        self.case = case
        self.family = family
        self.settings = settings
        self.now = now
        self.deadlines: dict[tuple[str, str, int], Deadline] = {d.key: d for d in existing}
        self.tiers: dict[tuple[str, str, int, int], Escalation] = {t.key: t for t in tiers}
        self.changed_deadlines: dict[tuple[str, str, int], Deadline] = {}
        self.changed_tiers: dict[tuple[str, str, int, int], Escalation] = {}

    def result(self) -> ScheduleChange:
        return ScheduleChange(
            deadlines=tuple(self.changed_deadlines[k] for k in sorted(self.changed_deadlines)),
            escalations=tuple(self.changed_tiers[k] for k in sorted(self.changed_tiers)),
        )

    def _put(self, deadline: Deadline) -> None:
        self.deadlines[deadline.key] = deadline
        self.changed_deadlines[deadline.key] = deadline

    def _put_tier(self, tier: Escalation) -> None:
        self.tiers[tier.key] = tier
        self.changed_tiers[tier.key] = tier

    def live(self, kinds: Iterable[str] | None = None) -> list[Deadline]:
        """Open or paused deadlines (of ``kinds``), by key."""
        wanted = None if kinds is None else frozenset(kinds)
        return [
            d
            for key, d in sorted(self.deadlines.items())
            if d.status in _LIVE and (wanted is None or d.kind in wanted)
        ]

    def tiers_of(self, deadline: Deadline) -> list[Escalation]:
        return [
            t
            for key, t in sorted(self.tiers.items())
            if (t.case_id, t.kind, t.cycle) == deadline.key
        ]

    def next_cycle(self, kind: str) -> int:
        cycles = [d.cycle for d in self.deadlines.values() if d.kind == kind]
        return max(cycles) + 1 if cycles else 0

    # ------------------------------------------------------------ changes

    def finish(self, deadline: Deadline, status: DeadlineStatus) -> None:
        """Meet, clear or supersede a live deadline; its waiting tiers are cancelled."""
        self._put(attrs.evolve(deadline, status=status.value, met_at=self.now, paused_at=None))
        for tier in self.tiers_of(deadline):
            if tier.status in _WAITING:
                self._put_tier(attrs.evolve(tier, status=EscalationStatus.CANCELLED.value))

    def finish_kinds(self, kinds: Iterable[str], status: DeadlineStatus) -> None:
        """Finish the live deadlines of ``kinds``."""
        for deadline in self.live(kinds):
            self.finish(deadline, status)

    def finish_all(self, status: DeadlineStatus) -> None:
        """Finish every live deadline of the case."""
        for deadline in self.live():
            self.finish(deadline, status)

    def start(self, kind: str, when: Due, started_at: datetime, ladder_name: str | None) -> None:
        """Start a new clock of ``kind``, superseding the live one of that kind if any."""
        held = self.case.held_from is not None
        for deadline in self.live((kind,)):
            self.finish(deadline, DeadlineStatus.SUPERSEDED)
        deadline = Deadline(
            case_id=self.case.id,
            kind=kind,
            cycle=self.next_cycle(kind),
            organisation=self.case.organisation,
            workflow=self.case.workflow,
            started_at=_utc(started_at),
            due_date=when.due_date,
            due_at=when.breach_at,
            status=(DeadlineStatus.PAUSED if held else DeadlineStatus.OPEN).value,
            ladder=ladder_name,
            paused_at=self.now if held else None,
        )
        self._put(deadline)
        ladder = self.settings.ladder(ladder_name)
        status = EscalationStatus.PAUSED if held else EscalationStatus.PENDING
        for tier in build_tiers(deadline, ladder, self.settings.calendar, not_before=self.now):
            self._put_tier(attrs.evolve(tier, status=status.value))

    def pause(self) -> None:
        """Pause every live deadline and its pending tiers (the case goes on hold)."""
        for deadline in self.live():
            self._put(
                attrs.evolve(deadline, status=DeadlineStatus.PAUSED.value, paused_at=self.now)
            )
            for tier in self.tiers_of(deadline):
                if tier.status == EscalationStatus.PENDING.value:
                    self._put_tier(attrs.evolve(tier, status=EscalationStatus.PAUSED.value))

    def resume(self) -> None:
        """Reopen every paused deadline, moved later by the time it was paused."""
        for deadline in self.live():
            shift = _Shift.of(deadline, deadline.paused_at or self.now, self.now)
            self._put(
                attrs.evolve(
                    deadline,
                    status=DeadlineStatus.OPEN.value,
                    paused_at=None,
                    due_date=shift.day(deadline.due_date),
                    due_at=shift.moment(deadline.due_at),
                )
            )
            for tier in self.tiers_of(deadline):
                if tier.status == EscalationStatus.PAUSED.value:
                    self._put_tier(
                        attrs.evolve(
                            tier,
                            status=EscalationStatus.PENDING.value,
                            fire_at=shift.moment(tier.fire_at),
                        )
                    )

    def owner(self) -> str | None:
        return _person(self.case.facts, _OWNER_FACTS.get(self.family, ()))

    def follow_owner(self) -> None:
        """Live deadlines follow the case's current lead or owner (a reassignment)."""
        owner = self.owner()
        for deadline in self.live():
            if deadline.owner != owner:
                self._put(attrs.evolve(deadline, owner=owner))


@attrs.frozen
class _Shift:
    """How far a hold moves a deadline: whole local days, or exact time for an hours rule."""

    days: int
    elapsed: timedelta

    @classmethod
    def of(cls, deadline: Deadline, paused_at: datetime, resumed_at: datetime) -> _Shift:
        elapsed = max(resumed_at - paused_at, timedelta(0))
        if deadline.due_date is None:
            return cls(0, elapsed)
        start = paused_at.astimezone(UK_TIME).date()
        end = resumed_at.astimezone(UK_TIME).date()
        return cls(max((end - start).days, 0), timedelta(0))

    def day(self, day: date | None) -> date | None:
        return None if day is None else day + timedelta(days=self.days)

    def moment(self, moment: datetime) -> datetime:
        if self.days == 0:
            return _utc(moment + self.elapsed)
        local = moment.astimezone(UK_TIME).replace(tzinfo=None) + timedelta(days=self.days)
        return _utc(local.replace(tzinfo=UK_TIME))


def _firing_order(item: tuple[datetime, int, EscalationTier]) -> tuple[datetime, int]:
    """Tiers fire by instant; tiers at the same instant keep the ladder's order."""
    return item[0], item[1]


def build_tiers(
    deadline: Deadline,
    ladder: EscalationLadder,
    calendar: WorkingDayCalendar,
    *,
    not_before: datetime | None = None,
) -> tuple[Escalation, ...]:
    """The pending tiers of ``deadline`` under ``ladder``, numbered from 0 in firing order.

    Each tier fires at [`offset_instant`][psirf_flow.policy.timing.offset_instant] of the deadline
    (a warning before it, a breach at it, an escalation after it); ties keep the ladder's
    order. A warning scheduled before ``not_before`` (the clock's creation) is left out.

    Args:
        deadline: The deadline.
        ladder: Its escalation ladder.
        calendar: The plan's working-day calendar.
        not_before: Leave out warnings that would fire before this instant.
    """
    when = Due(deadline.due_date, deadline.due_at)
    timed: list[tuple[datetime, int, EscalationTier]] = []
    for index, tier in enumerate(ladder.tiers):
        before = tier.before is not None
        fire_at = offset_instant(when, tier.offset, calendar, before=before)
        if before and not_before is not None and fire_at < not_before:
            continue
        timed.append((fire_at, index, tier))
    timed.sort(key=_firing_order)
    built: list[Escalation] = []
    for number, (fire_at, _index, tier) in enumerate(timed):
        # Any: the record's ``notify`` converter is typed differently across releases.
        roles: Any = tuple(role.value for role in tier.notify)
        built.append(
            Escalation(
                case_id=deadline.case_id,
                kind=deadline.kind,
                cycle=deadline.cycle,
                tier=number,
                stage=tier.stage,
                organisation=deadline.organisation,
                fire_at=_utc(fire_at),
                notify=roles,
                action=tier.action,
            )
        )
    return tuple(built)


# ---------------------------------------------------------------- the rules


def _awareness(case: Case, now: datetime) -> datetime:
    """When the organisation became aware of a candour case's incident (default: opening).

    The opening's awareness fact (its fields are the case's facts) is an ISO date, counted
    from 00:00 local, or an aware ISO instant; a later one than the opening is the opening.
    """
    for name in _AWARENESS_FACTS:
        moment = _instant(case.facts.get(name))
        if moment is not None:
            return min(moment, now)
    return now


def _instant(value: FactValue | None) -> datetime | None:
    """00:00 local on an ISO date, or an aware ISO instant, from a fact; else ``None``."""
    if not isinstance(value, str):
        return None
    day = fact_date(value)
    if day is not None:
        return local_midnight(day)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if moment.utcoffset() is None else _utc(moment)


def _learning_response(
    rows: _Rows,
    definition: WorkflowDefinition,
    before: Case | None,
    trigger: str,
    now: datetime,
) -> None:
    case = rows.case
    clocks = rows.settings.response_clocks(definition, case)
    calendar = rows.settings.calendar
    lead_starts = _starts_with_lead(definition)
    starting = (before is None and not lead_starts) or (lead_starts and trigger == "assign_lead")
    if starting or trigger == "reopen":
        for kind, timescale in ((RESPONSE_TARGET, clocks.target), (RESPONSE_HARD_CAP, clocks.cap)):
            if timescale is not None:
                rows.start(kind, due(now, timescale, calendar), now, clocks.ladder)
        return
    agreed = fact_date(case.facts.get("target_date"))
    if agreed is not None:
        for kind in _MOVED_BY.get(trigger, ()):
            rows.start(kind, due_on(agreed), now, clocks.ladder)
    held = definition.name in _HELD_WHEN_ANALYSED and trigger == "complete_analysis"
    if held or case.state == "approved":
        rows.finish_all(DeadlineStatus.MET)  # the target and the cap


def _candour(rows: _Rows, before: Case | None, trigger: str, now: datetime) -> None:
    calendar = rows.settings.calendar

    def start(kind: str, at: datetime) -> None:
        clock = rows.settings.candour_clock(kind)
        rows.start(kind, due(at, clock.timescale, calendar), at, clock.ladder_name)

    if before is None:
        start(CANDOUR_NOTIFICATION, _awareness(rows.case, now))
    elif trigger in ("reopen", "reassess", "relevant_person_engages"):
        start(CANDOUR_NOTIFICATION, now)
    elif trigger == "record_verbal_notification":
        rows.finish_kinds((CANDOUR_NOTIFICATION,), DeadlineStatus.MET)
        start(CANDOUR_WRITTEN, now)
    elif trigger == "record_written_notification":
        rows.finish_kinds((CANDOUR_WRITTEN,), DeadlineStatus.MET)
    elif trigger in _FINDINGS_AVAILABLE:
        if not rows.live((CANDOUR_FINDINGS,)):
            start(CANDOUR_FINDINGS, now)
    elif trigger == "record_findings_shared":
        rows.finish_kinds((CANDOUR_FINDINGS,), DeadlineStatus.MET)
    elif trigger == "mark_uncontactable_or_declined":
        rows.finish_kinds((CANDOUR_NOTIFICATION,), DeadlineStatus.CLEARED)


def _intake(rows: _Rows, before: Case | None, now: datetime) -> None:
    clocks = rows.settings.clocks
    if before is None:
        when = due(now, clocks.triage_review, rows.settings.calendar)
        rows.start(TRIAGE_REVIEW, when, now, clocks.triage_review_ladder)
    elif before.state in _INTAKE_REVIEW_STATES and rows.case.state not in _INTAKE_REVIEW_STATES:
        rows.finish_all(DeadlineStatus.MET)  # the triage review is an intake's one clock


def _referral(rows: _Rows, before: Case | None, trigger: str, now: datetime) -> None:
    clocks = rows.settings.clocks
    if before is None:
        when = due(now, clocks.referral_notification, rows.settings.calendar)
        rows.start(REFERRAL_NOTIFICATION, when, now, clocks.referral_ladder)
    elif trigger == "record_notification":
        rows.finish_all(DeadlineStatus.MET)  # a referral's one clock


def _safety_action(rows: _Rows, trigger: str, now: datetime) -> None:
    if trigger in ("agree", "revise"):
        day = fact_date(rows.case.facts.get("due_on"))
        if day is not None:
            ladder = rows.settings.clocks.safety_action_ladder
            rows.start(SAFETY_ACTION_DUE, due_on(day), now, ladder)
    elif trigger == "mark_implemented":
        rows.finish_all(DeadlineStatus.MET)  # a safety action's one clock


def plan_deadlines(
    *,
    definition: WorkflowDefinition,
    before: Case | None,
    after: Case,
    trigger: str,
    now: datetime,
    plan: Plan | None,
    existing: Sequence[Deadline],
    tiers: Sequence[Escalation],
) -> ScheduleChange:
    """The deadlines and tiers a step starts, meets, clears, pauses, resumes or restarts.

    The rules are in the module docstring; the result holds only the rows the step
    changes (a step that touches no clock returns an empty change).

    Args:
        definition: The case's workflow definition.
        before: The case before the step (``None`` when the step opens it).
        after: The case after the step.
        trigger: The step's trigger (``"open"`` for an opening).
        now: The step's instant (aware UTC).
        plan: The plan version governing the case (``None``: the built-in defaults).
        existing: The case's deadlines before the step (every cycle).
        tiers: The case's escalation tiers before the step.
    """
    rows = _Rows(
        after,
        family=definition.family,
        settings=_Settings.of(plan),
        existing=existing,
        tiers=tiers,
        now=_utc(now),
    )
    spec = definition.transitions.get(trigger)  # None for the opening
    if spec is not None and spec.dest == PREVIOUS_STATE:
        rows.resume()
    family = definition.family
    if family == "learning_response":
        _learning_response(rows, definition, before, trigger, rows.now)
    elif family == "duty_of_candour":
        _candour(rows, before, trigger, rows.now)
    elif family == "intake":
        _intake(rows, before, rows.now)
    elif family == "referral":
        _referral(rows, before, trigger, rows.now)
    elif family == "safety_action":
        _safety_action(rows, trigger, rows.now)
    if after.state in definition.final_states and (spec is None or not spec.reopens):
        rows.finish_all(DeadlineStatus.CLEARED)
    if spec is not None and spec.holds:
        rows.pause()
    rows.follow_owner()
    return rows.result()
