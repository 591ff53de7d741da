"""Pure oversight queries over audit entries, for board and ICB dashboards.

Everything here is a function of the audit entries it is given: no store, no clock, no
logging. The host reads the entries (for example with
[`psirf_flow.engine.Engine.history`][psirf_flow.engine.Engine.history] for each case it oversees)
and passes them in.

psirf-rules §5 segregation rule 7 and the §9.4 escalation matrix: an override of a national
requirement needs the executive lead and a reason, and is reported to the board and the ICB.
[`overridden_national_requirements`][psirf_flow.oversight.overridden_national_requirements] finds
those overrides by the rule reference their audit entry carries
([`NATIONAL_OVERRIDE_RULE`][psirf_flow.workflows.intake.definition.NATIONAL_OVERRIDE_RULE]), so it
works on entries from any store and from any workflow that records such an override.

A departure from the plan (a response outside the ones the plan allows for the incident,
accepted only where the plan permits it and with a reason code; psirf-rules §0.5 rule 1,
§1.8) is listed the same way by [`plan_departures`][psirf_flow.oversight.plan_departures]: its audit
entry carries [`PLAN_DEPARTURE_RULE`][psirf_flow.workflows.intake.definition.PLAN_DEPARTURE_RULE]
and a ``departure_reason``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import attrs

from psirf_flow.audit import AuditEntry
from psirf_flow.errors import InvalidInput
from psirf_flow.policy.calendars import UK_TIME, add_months
from psirf_flow.policy.plan import Plan
from psirf_flow.workflows.intake import NATIONAL_OVERRIDE_RULE, PLAN_DEPARTURE_RULE


__all__ = [
    "RESERVE_TRIGGERS",
    "NationalOverride",
    "PlanDeparture",
    "ReservePeriodUse",
    "overridden_national_requirements",
    "plan_departures",
    "reserve_capacity_use",
]


@attrs.frozen
class NationalOverride:
    """One national requirement override, as a dashboard lists it.

    Attributes:
        case_id: The case.
        sequence: The audit entry's sequence number within the case.
        workflow: The workflow name (``incident_intake`` for the built-in lifecycle).
        organisation: The organisation the executive acted for.
        actor_id: Who overrode (an executive lead).
        role: The role they acted in.
        rule_refs: The national rule references set aside (``rule_id@version``).
        reason_code: The reason code recorded with the override.
        recorded_at: When the override was accepted (aware UTC).
        entry_hash: The audit entry's hash, to verify the listing against the trail.
    """

    case_id: str
    sequence: int
    workflow: str
    organisation: str
    actor_id: str
    role: str
    rule_refs: tuple[str, ...]
    reason_code: str
    recorded_at: datetime
    entry_hash: str


def overridden_national_requirements(entries: Iterable[AuditEntry]) -> list[NationalOverride]:
    """List every national requirement override found in ``entries``.

    Args:
        entries: Audit entries of one case or many, in any order.

    Returns:
        One [`NationalOverride`][psirf_flow.oversight.NationalOverride] per override entry, oldest
        first (then by case and sequence), so the listing is the same whatever order the entries
        came in.

    Raises:
        InvalidInput: If ``entries`` is not a collection of audit entries.
    """
    found = [_override(e) for e in _entries(entries) if NATIONAL_OVERRIDE_RULE in e.rules]
    return sorted(found, key=lambda o: (o.recorded_at, o.case_id, o.sequence))


def _entries(entries: object) -> tuple[AuditEntry, ...]:
    """``entries`` as a tuple of audit entries, or `InvalidInput` (nothing else)."""
    if isinstance(entries, str | bytes) or not isinstance(entries, Iterable):
        raise InvalidInput("entries", f"must be audit entries, got {type(entries).__name__}")
    found = tuple(entries)
    for entry in found:
        if not isinstance(entry, AuditEntry):
            msg = f"must hold only audit entries, got {type(entry).__name__}"
            raise InvalidInput("entries", msg)
    return found


def _override(entry: AuditEntry) -> NationalOverride:
    refs = entry.data.get("overridden_rule_refs", ())
    reason = entry.data.get("override_reason", "")
    return NationalOverride(
        case_id=entry.case_id,
        sequence=entry.sequence,
        workflow=entry.workflow,
        organisation=entry.organisation,
        actor_id=entry.actor_id,
        role=entry.role,
        rule_refs=_refs(refs),
        reason_code=reason if isinstance(reason, str) else "",
        recorded_at=entry.recorded_at,
        entry_hash=entry.hash,
    )


def _refs(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    return (value,) if isinstance(value, str) else ()


@attrs.frozen
class PlanDeparture:
    """One response decided outside the plan's allowed responses, as a dashboard lists it.

    Attributes:
        case_id: The case.
        sequence: The audit entry's sequence number within the case.
        workflow: The workflow name (``incident_intake`` for the built-in lifecycle).
        organisation: The organisation the decider acted for.
        actor_id: Who decided.
        role: The role they acted in.
        committee: The committee whose decision it was, if the plan named one.
        response_type: The response chosen.
        plan_priority_id: The priority named by the decision, if any.
        reason_code: The departure reason recorded.
        recorded_at: When the decision was accepted (aware UTC).
        entry_hash: The audit entry's hash, to verify the listing against the trail.
    """

    case_id: str
    sequence: int
    workflow: str
    organisation: str
    actor_id: str
    role: str
    committee: str | None
    response_type: str
    plan_priority_id: str | None
    reason_code: str
    recorded_at: datetime
    entry_hash: str


def plan_departures(entries: Iterable[AuditEntry]) -> list[PlanDeparture]:
    """List every departure from the plan's allowed responses found in ``entries``.

    Args:
        entries: Audit entries of one case or many, in any order.

    Returns:
        One [`PlanDeparture`][psirf_flow.oversight.PlanDeparture] per decision that recorded a
        departure reason, oldest first (then by case and sequence).

    Raises:
        InvalidInput: If ``entries`` is not a collection of audit entries.
    """
    found = [
        _departure(e)
        for e in _entries(entries)
        if PLAN_DEPARTURE_RULE in e.rules and isinstance(e.data.get("departure_reason"), str)
    ]
    return sorted(found, key=lambda d: (d.recorded_at, d.case_id, d.sequence))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _departure(entry: AuditEntry) -> PlanDeparture:
    return PlanDeparture(
        case_id=entry.case_id,
        sequence=entry.sequence,
        workflow=entry.workflow,
        organisation=entry.organisation,
        actor_id=entry.actor_id,
        role=entry.role,
        committee=_text(entry.data.get("decider_committee")),
        response_type=_text(entry.data.get("response_type")) or "",
        plan_priority_id=_text(entry.data.get("plan_priority_id")),
        reason_code=_text(entry.data.get("departure_reason")) or "",
        recorded_at=entry.recorded_at,
        entry_hash=entry.hash,
    )


# -- Reserve capacity (H2) ------------------------------------------------------------------

RESERVE_TRIGGERS = frozenset({"decide_response", "commission_local_response"})
"""The intake triggers whose decisions may draw on the plan's reserve capacity."""


@attrs.frozen
class ReservePeriodUse:
    """How much of the plan's reserve capacity one period used (psirf-rules §0.5 rule 1).

    The count is **reported, not locked**: a decision drawing on the reserve is never
    refused because the reserve is spent (the decider is accountable and the board sees
    this report); ``remaining`` goes below zero when more was drawn than held.

    Attributes:
        start: The period's first day (Europe/London).
        end: The day after its last day.
        allowed: The extra PSIIs the plan holds per period.
        used: Draws recorded in the period.
        remaining: ``allowed - used`` (negative when overdrawn).
        case_ids: The cases that drew on the reserve, in the order they did.
    """

    start: date
    end: date
    allowed: int
    used: int
    remaining: int
    case_ids: tuple[str, ...]


def reserve_capacity_use(
    entries: Iterable[AuditEntry], plan: Plan, *, on: date
) -> tuple[ReservePeriodUse, ...]:
    """Reserve capacity used and remaining per period, from audit entries (pure).

    Periods run ``reserve_capacity.period_months`` at a time from the plan's
    ``effective_from`` up to the period holding ``on``. A draw is an intake decision
    ([`RESERVE_TRIGGERS`][psirf_flow.oversight.RESERVE_TRIGGERS]) whose payload says
    ``reserve_capacity_used``; it counts in the period holding its Europe/London date. Draws before
    the plan's start or after ``on`` are left out.

    Args:
        entries: Audit entries of one case or many, in any order.
        plan: The plan whose reserve is reported.
        on: The last day reported.

    Raises:
        InvalidInput: If ``entries`` is not a collection of audit entries, ``plan`` not a
            ``Plan`` or ``on`` not a date.
    """
    entries = _entries(entries)
    if not isinstance(plan, Plan):
        raise InvalidInput("plan", f"must be a Plan, got {type(plan).__name__}")
    if not isinstance(on, date):
        raise InvalidInput("on", f"must be a date, got {type(on).__name__}")
    reserve = plan.reserve_capacity
    first = plan.plan.effective_from
    months = max(1, reserve.period_months)
    bounds: list[tuple[date, date]] = []
    start = first
    step = 0
    while start <= on:
        step += 1
        end = add_months(first, months * step)
        bounds.append((start, end))
        start = end
    draws = sorted(
        (
            e
            for e in entries
            if e.trigger in RESERVE_TRIGGERS and e.data.get("reserve_capacity_used") is True
        ),
        key=lambda e: (e.recorded_at, e.case_id, e.sequence),
    )
    found: list[ReservePeriodUse] = []
    for period_start, period_end in bounds:
        cases = tuple(
            e.case_id
            for e in draws
            if period_start <= e.recorded_at.astimezone(UK_TIME).date() < period_end
            and e.recorded_at.astimezone(UK_TIME).date() <= on
        )
        found.append(
            ReservePeriodUse(
                start=period_start,
                end=period_end,
                allowed=reserve.extra_psiis,
                used=len(cases),
                remaining=reserve.extra_psiis - len(cases),
                case_ids=cases,
            )
        )
    return tuple(found)
