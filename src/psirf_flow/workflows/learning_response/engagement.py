"""Guards of a PSII's timescale: the agreed target date, extensions and the hard cap.

The rules (psirf-rules §4.1, all NAT-G and recalled rather than read, ✖):

* a PSII is ordinarily completed within one to three months of its start;
* no local PSII should take longer than six months (treated as a hard cap in settings);
* the timeframe is agreed with those affected (patient, family, carer) where they are
  willing and able to be involved, and any extension likewise.

psirf-rules §5 rule 5 (INF) adds segregation of duties: the extension is approved by
someone other than the lead, with the family's position recorded first (agreed, not agreed,
or not involved with the reason). §6 stage 4 lists the agreed target date among what
planning produces; §9.1 draws the ``extension`` event with these guards and a hard cap
(``psii_max``) whose breach needs the executive lead.

**The clock comes from the governing plan** (issue 10). A response's clock is read by
[`response_clock`][psirf_flow.workflows.learning_response.engagement.response_clock]:

* ``started_on``: the Europe/London date the response started, stamped by the engine when
  the lead is assigned (the ``psii_start`` of psirf-rules §9.1) and again when a closed
  response is reopened (a new clock for the new work; the old one stays in the audit
  trail);
* the timescale: the plan's response type ``timescale`` (the type is the case's
  ``response_type`` fact, else its workflow's name), counted from ``started_on`` by the
  counting rules of [`psirf_flow.policy.timing`][psirf_flow.policy.timing] (months: the same day of
  the month, rolled forward to a working day of the plan's calendar);
* the hard cap: the response type's ``effective_hard_cap`` (six months for a PSII unless
  the plan sets another; none for a local type on another lifecycle that sets none).

Without a plan (or for a response type the plan does not list, or one that sets no
timescale) the built-in defaults
[`DEFAULT_TIMESCALE`][psirf_flow.workflows.learning_response.engagement.DEFAULT_TIMESCALE] (3
months) and [`DEFAULT_HARD_CAP`][psirf_flow.workflows.learning_response.engagement.DEFAULT_HARD_CAP]
(6 months) apply under the England and Wales calendar. They are the upper end of "ordinarily one to
three months" and the "no longer than six months" of national guidance that was recalled, **not
retrieved** (psirf-rules §4.1, NAT-G ✖): a setting, not law.

``target_date`` is the date currently aimed at: agreed within the timescale by the lead, or
moved later by an approved extension. Until one is agreed, the end of the timescale stands
in ([`current_target_date`][psirf_flow.workflows.learning_response.engagement.current_target_date]).
Dates are compared as Europe/London dates ([`local_date`][psirf_flow.policy.timing.local_date] of
the decision's ``now``), like the stamp.

Cases opened before the clock came from the plan carry the preset facts ``timescale_days``
and ``hard_cap_days``; they are no longer read.

The guards are merged into
[`psirf_flow.workflows.registry.GUARDS`][psirf_flow.workflows.registry.GUARDS].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Final

import attrs

from psirf_flow.domain import FactValue, GuardResult
from psirf_flow.errors import REASON_MISSING
from psirf_flow.policy.calendars import Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.plan import PSII_DEFAULT_HARD_CAP
from psirf_flow.policy.timing import due, local_date, local_midnight, months_due
from psirf_flow.workflows.guards import PRIORITY_FACT, fact_date
from psirf_flow.workflows.spec import DAYS_ON_HOLD_FACT


if TYPE_CHECKING:
    from psirf_flow.policy.governance import Governance
    from psirf_flow.workflows.guards import GuardInput


__all__ = [
    "DEFAULT_CALENDAR",
    "DEFAULT_HARD_CAP",
    "DEFAULT_TIMESCALE",
    "ENGAGEMENT_GUARDS",
    "PENDING_EXTENSION_FACT",
    "ResponseClock",
    "current_target_date",
    "response_clock",
]

DEFAULT_TIMESCALE: Final = Timescale(3, TimeUnit.MONTHS)
"""The timescale when the plan sets none: the upper end of "ordinarily one to three months"
(psirf-rules §4.1, NAT-G ✖, recalled and not retrieved). A setting, not law."""
DEFAULT_HARD_CAP: Final = PSII_DEFAULT_HARD_CAP
"""The hard cap when the plan sets none: "no longer than six months" (psirf-rules §4.1,
NAT-G ✖, treated as a hard cap in configuration). A setting, not law."""
DEFAULT_CALENDAR: Final = WorkingDayCalendar()
"""The calendar without a plan: England and Wales bank holidays."""
PENDING_EXTENSION_FACT: Final = "requested_target_date"
"""The fact holding the date of a pending extension request (absent when none is pending)."""

GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]
"""A guard registered from this module: name, check, summary, uses_payload."""


def _ends_on(start: date, timescale: Timescale, calendar: WorkingDayCalendar) -> date:
    """The last date within ``timescale`` counted from the local date ``start``."""
    if timescale.unit is TimeUnit.MONTHS:
        return months_due(start, timescale.amount, calendar)
    found = due(local_midnight(start), timescale, calendar)
    return found.due_date if found.due_date is not None else local_date(found.breach_at)


@attrs.frozen
class ResponseClock:
    """A response's clock: when it started and what the plan allows.

    Attributes:
        started_on: The Europe/London date the response started (the lead was assigned, or
            the response was reopened).
        timescale: The plan's timescale for the response type.
        hard_cap: The plan's hard cap (``None``: the response type has none).
        calendar: The plan's working-day calendar.
        days_on_hold: Whole local days the response has spent on hold since it started:
            both dates move later by them, as the deadline rows do on resuming (issue 10).
    """

    started_on: date
    timescale: Timescale = DEFAULT_TIMESCALE
    hard_cap: Timescale | None = DEFAULT_HARD_CAP
    calendar: WorkingDayCalendar = DEFAULT_CALENDAR
    days_on_hold: int = 0

    @property
    def hard_cap_ends_on(self) -> date | None:
        """The last date within the hard cap (``None`` without one)."""
        if self.hard_cap is None:
            return None
        return self._moved(_ends_on(self.started_on, self.hard_cap, self.calendar))

    @property
    def timescale_ends_on(self) -> date:
        """The last date within the plan's timescale (never later than the hard cap)."""
        end = self._moved(_ends_on(self.started_on, self.timescale, self.calendar))
        cap = self.hard_cap_ends_on
        return end if cap is None else min(end, cap)

    def _moved(self, day: date) -> date:
        return day + timedelta(days=self.days_on_hold)

    def within_hard_cap(self, day: date) -> bool:
        """Whether ``day`` is on or before the hard cap's last date (always, without a cap)."""
        cap = self.hard_cap_ends_on
        return cap is None or day <= cap


def response_clock(
    facts: Mapping[str, FactValue],
    governance: Governance | None = None,
    workflow: str = "psii",
) -> ResponseClock | None:
    """Read a response's clock from its facts and plan; ``None`` until it has started.

    Args:
        facts: The case's facts (``started_on``; ``response_type`` names the plan's type).
        governance: The plan the case runs under (``None``: the built-in defaults).
        workflow: The case's workflow, the response type when the facts name none.
    """
    started = fact_date(facts.get("started_on"))
    if started is None:
        return None
    held = facts.get(DAYS_ON_HOLD_FACT)
    days = held if type(held) is int else 0
    if governance is None:
        return ResponseClock(started_on=started, days_on_hold=days)
    named = facts.get("response_type")
    name = named if isinstance(named, str) else workflow
    plan = governance.plan
    found = plan.response_types.get(name)
    if found is None:
        return ResponseClock(
            started_on=started, calendar=plan.working_calendar(), days_on_hold=days
        )
    priority = facts.get(PRIORITY_FACT)
    timescale = plan.timescale_for(name, priority if isinstance(priority, str) else None)
    return ResponseClock(
        started_on=started,
        timescale=timescale or DEFAULT_TIMESCALE,
        hard_cap=found.effective_hard_cap,
        calendar=plan.working_calendar(),
        days_on_hold=days,
    )


def _clock_of(g: GuardInput) -> ResponseClock | None:
    workflow = g.case.workflow if g.case is not None else "psii"
    return response_clock(g.facts, g.governance, workflow)


def current_target_date(
    facts: Mapping[str, FactValue],
    governance: Governance | None = None,
    workflow: str = "psii",
) -> date | None:
    """The date a response currently aims at; ``None`` until its clock has started.

    This is the agreed (or extended) ``target_date``, or, until one is agreed, the end of
    the plan's timescale (arguments as for
    [`response_clock`][psirf_flow.workflows.learning_response.engagement.response_clock]).
    """
    agreed = fact_date(facts.get("target_date"))
    if agreed is not None:
        return agreed
    clock = response_clock(facts, governance, workflow)
    return clock.timescale_ends_on if clock is not None else None


_result = GuardResult.judge


def _not_started(name: str) -> GuardResult:
    return _result(
        name,
        False,
        "clock_not_started",
        "the response has not started (no lead has been assigned), so it has no timescale yet",
    )


def _no_target(name: str) -> GuardResult:
    return _result(name, False, "target_date_missing", "no target date has been given")


DatedCheck = Callable[[str, "GuardInput", ResponseClock, date], GuardResult]


# The guards made from parameters are partials of these module-level functions written into
# ENGAGEMENT_GUARDS (not closures made at import time), so that each check runs, and can be
# mutation-tested, each time the guard is judged.


def _check_dated(name: str, check: DatedCheck, fact: str, g: GuardInput) -> GuardResult:
    """Judge ``check`` with the response's clock and the proposed date (fact ``fact``).

    It refuses with ``clock_not_started`` or ``target_date_missing`` when either is missing,
    and otherwise hands both to ``check``.

    Rules: [A PSII's target date is within the plan's timescale (ordinarily one to three
    months)][psii-target-timescale]; [An extension is requested by the lead, to a later date, and
    approved by someone else][psii-extension]; [No local PSII takes longer than six months without
    the executive lead's override][psii-six-month-cap].
    """
    clock = _clock_of(g)
    target = fact_date(g.facts.get(fact))
    if clock is None:
        return _not_started(name)
    if target is None:
        return _no_target(name)
    return check(name, g, clock, target)


def _cap_words(clock: ResponseClock) -> str:
    return (
        f"the hard cap ({clock.hard_cap} from the start on {clock.started_on}, so "
        f"{clock.hard_cap_ends_on} at the latest)"
    )


def _target_within_timescale(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    del g
    if not clock.within_hard_cap(target):
        return _result(
            name,
            False,
            "target_beyond_hard_cap",
            f"the target date {target} is beyond {_cap_words(clock)}; only the executive "
            "lead's hard-cap override can go beyond it",
        )
    return _result(
        name,
        target <= clock.timescale_ends_on,
        "target_beyond_timescale",
        f"the target date {target} is beyond the plan's timescale ({clock.timescale} from "
        f"the start on {clock.started_on}, so {clock.timescale_ends_on} at the latest); "
        "an extension approved by the executive lead is needed",
    )


def _check_not_in_past(name: str, fact: str, g: GuardInput) -> GuardResult:
    """The date in fact ``fact`` is today or later (Europe/London).

    Rules: [A PSII's target date is within the plan's timescale (ordinarily one to three
    months)][psii-target-timescale]; [An extension is requested by the lead, to a later date, and
    approved by someone else][psii-extension].
    """
    target = fact_date(g.facts.get(fact))
    if target is None:
        return _no_target(name)
    if g.now is None:
        return _result(
            name,
            False,
            "decision_time_unknown",
            "the time of the decision is not known, so the date cannot be checked",
        )
    today = local_date(g.now)
    return _result(
        name,
        target >= today,
        "target_in_past",
        f"the date {target} is already past (today is {today})",
    )


def _extension_approver_independent(g: GuardInput) -> GuardResult:
    """SoD 5 (psirf-rules §5 rule 5, INF): the lead never approves their own extension.

    Ids are compared ignoring case (``GuardInput.actor_in``).

    Rule: [An extension is requested by the lead, to a later date, and approved by someone
    else][psii-extension].
    """
    return _result(
        "extension_approver_independent",
        not g.actor_in(g.leads()),
        "extension_approver_is_lead",
        f"{g.actor.id} leads this response and so cannot approve its extension",
    )


def _later_than_target(name: str, g: GuardInput, clock: ResponseClock, target: date) -> GuardResult:
    # The target before this command: the one agreed or extended, else the timescale's end.
    agreed = fact_date(g.case.facts.get("target_date")) if g.case is not None else None
    current = agreed or clock.timescale_ends_on
    return _result(
        name,
        target > current,
        "extension_not_later",
        f"the new target date {target} is not later than the current target {current}",
    )


def _within_hard_cap(name: str, g: GuardInput, clock: ResponseClock, target: date) -> GuardResult:
    del g
    return _result(
        name,
        clock.within_hard_cap(target),
        "hard_cap_exceeded",
        f"the new target date {target} is beyond {_cap_words(clock)}; it needs the executive "
        "lead's hard-cap override with a reason",
    )


def _override_beyond_hard_cap(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    del g
    return _result(
        name,
        not clock.within_hard_cap(target),
        "hard_cap_not_exceeded",
        f"the new target date {target} is within the hard cap ({clock.hard_cap_ends_on} at "
        "the latest), so it needs an ordinary extension, not a hard-cap override",
    )


def _before(g: GuardInput) -> Mapping[str, FactValue]:
    return g.case.facts if g.case is not None else {}


def _extension_pending(g: GuardInput) -> GuardResult:
    """An extension request is waiting for a decision (psirf-rules §4.1, §9.1).

    Rule: [An extension is requested by the lead, to a later date, and approved by someone
    else][psii-extension].
    """
    return _result(
        "extension_pending",
        fact_date(_before(g).get(PENDING_EXTENSION_FACT)) is not None,
        "no_extension_requested",
        "no extension has been requested by the lead, or the last request was decided",
    )


def _family_position_recorded(g: GuardInput) -> GuardResult:
    """The family's position on the pending request is recorded (psirf-rules §4.1, §5 rule 5).

    Rule: [The family's position on an extension is recorded; approving against it needs a
    note][psii-extension-family-position].
    """
    return _result(
        "family_position_recorded",
        isinstance(_before(g).get("family_extension_position"), str),
        "family_position_missing",
        "the family's position on the requested extension has not been recorded by the "
        "engagement lead",
    )


def _within_request(g: GuardInput) -> GuardResult:
    """The approved date is not later than the date the lead asked for.

    Without a pending request there is nothing to compare (``extension_pending`` refuses).

    Rule: [An extension is requested by the lead, to a later date, and approved by someone
    else][psii-extension].
    """
    requested = fact_date(_before(g).get(PENDING_EXTENSION_FACT))
    approved = fact_date(g.facts.get("target_date"))
    return _result(
        "extension_within_request",
        requested is None or approved is None or approved <= requested,
        "extension_beyond_request",
        f"the approved date {approved} is later than the date requested ({requested})",
    )


def _not_involved_reason_given(g: GuardInput) -> GuardResult:
    """A family not involved says why, as a code (psirf-rules §7.1: involvement is voluntary).

    Rule: [The family's position on an extension is recorded; approving against it needs a
    note][psii-extension-family-position].
    """
    ok = g.facts.get("family_extension_position") != "not_involved" or isinstance(
        g.payload.get("family_not_involved_reason"), str
    )
    return _result(
        "family_not_involved_reason_given",
        ok,
        REASON_MISSING,
        "the family is recorded as not involved, so the reason code is needed",
    )


def _disagreement_explained(g: GuardInput) -> GuardResult:
    """Approving against the family's position says why (psirf-rules §4.1, §5 rule 5).

    Rule: [The family's position on an extension is recorded; approving against it needs a
    note][psii-extension-family-position].
    """
    ok = _before(g).get("family_extension_position") != "not_agreed" or isinstance(
        g.payload.get("note"), str
    )
    return _result(
        "family_disagreement_explained",
        ok,
        REASON_MISSING,
        "the family did not agree to the extension, so approving it needs a note saying why",
    )


_REQUESTED: Final = PENDING_EXTENSION_FACT
_TARGET: Final = "target_date"

ENGAGEMENT_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "target_within_timescale",
        partial(_check_dated, "target_within_timescale", _target_within_timescale, _TARGET),
        "The target date is within the plan's timescale from the start of the response "
        "(further needs an extension).",
        True,
    ),
    (
        "target_not_in_past",
        partial(_check_not_in_past, "target_not_in_past", _TARGET),
        "The target date is today or later (Europe/London).",
        True,
    ),
    (
        "extension_approver_independent",
        _extension_approver_independent,
        "The person approving an extension does not lead the response.",
        False,
    ),
    (
        "extension_later_than_target",
        partial(_check_dated, "extension_later_than_target", _later_than_target, _TARGET),
        "The new target date is later than the current one.",
        True,
    ),
    (
        "extension_within_hard_cap",
        partial(_check_dated, "extension_within_hard_cap", _within_hard_cap, _TARGET),
        "The new target date is within the plan's hard cap (further needs the hard-cap override).",
        True,
    ),
    (
        "override_beyond_hard_cap",
        partial(_check_dated, "override_beyond_hard_cap", _override_beyond_hard_cap, _TARGET),
        "The new target date is beyond the hard cap (otherwise an ordinary extension is used).",
        True,
    ),
    (
        "request_later_than_target",
        partial(_check_dated, "request_later_than_target", _later_than_target, _REQUESTED),
        "The date requested is later than the current target.",
        True,
    ),
    (
        "request_within_hard_cap",
        partial(_check_dated, "request_within_hard_cap", _within_hard_cap, _REQUESTED),
        "The date requested is within the plan's hard cap (further needs the executive "
        "lead's hard-cap override).",
        True,
    ),
    (
        "request_not_in_past",
        partial(_check_not_in_past, "request_not_in_past", _REQUESTED),
        "The date requested is today or later (Europe/London).",
        True,
    ),
    (
        "extension_pending",
        _extension_pending,
        "The lead has requested an extension that is not yet decided.",
        False,
    ),
    (
        "family_position_recorded",
        _family_position_recorded,
        "The family's position on the requested extension is recorded.",
        False,
    ),
    (
        "extension_within_request",
        _within_request,
        "The approved date is not later than the date requested.",
        True,
    ),
    (
        "family_not_involved_reason_given",
        _not_involved_reason_given,
        "A family recorded as not involved has the reason code.",
        True,
    ),
    (
        "family_disagreement_explained",
        _disagreement_explained,
        "An extension the family did not agree to is approved only with a note.",
        True,
    ),
)
"""Every timescale guard, registered with its lifecycle's definition."""
