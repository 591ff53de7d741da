"""Guards of a PSII's timescale: the agreed target date, extensions and the hard cap.

The rules (psirf-rules §4.1, all NAT-G and recalled rather than read, ✖):

* a PSII is ordinarily completed within one to three months of its start;
* no local PSII should take longer than six months (treated as a hard cap in settings);
* the timeframe is agreed with those affected (patient, family, carer) where they are
  willing and able to be involved, and any extension likewise.

psirf-rules §5 rule 5 (INF) adds segregation of duties: the extension is approved by
someone other than the lead, with the agreement of those affected recorded, or a record
that they declined to be involved or could not be contacted. §6 stage 4 lists the agreed
target date among what planning produces; §9.1 draws the ``extension`` event with these
guards and a hard cap (``psii_max``) whose breach needs the executive lead.

The clock and its settings live in the case's facts:

* ``started_on``: the date the PSII started, stamped by the engine when the lead is
  assigned (the ``psii_start`` of psirf-rules §9.1);
* ``timescale_days`` and ``hard_cap_days``: calendar days from the start, given when the
  case is opened (the trust's plan supplies them); when absent the honest defaults
  :data:`DEFAULT_TIMESCALE_DAYS` and :data:`DEFAULT_HARD_CAP_DAYS` apply. They are
  settings, not law;
* ``target_date``: the date currently aimed at, agreed within the timescale by the lead or
  moved later by an extension. Until one is agreed, the end of the timescale stands in.

Dates are compared as calendar dates in UTC (``now.date()``), the same as the stamp.

The guards are merged into :data:`psirf_flow.workflows.registry.GUARDS`; this module only
depends on :mod:`psirf_flow.domain` at run time, so the registry stays single.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

import attrs

from psirf_flow.domain import FactValue, GuardResult
from psirf_flow.workflows.guards import fact_date


if TYPE_CHECKING:
    from psirf_flow.workflows.guards import GuardInput


__all__ = [
    "DEFAULT_HARD_CAP_DAYS",
    "DEFAULT_TIMESCALE_DAYS",
    "ENGAGEMENT_GUARDS",
    "ResponseClock",
    "current_target_date",
    "response_clock",
]

#: The plan's timescale when the case gives none: the upper end of "ordinarily one to three
#: months" in calendar days (psirf-rules §4.1, NAT-G ✖). A setting, not law.
DEFAULT_TIMESCALE_DAYS: Final = 90
#: The hard cap when the case gives none: "no longer than six months", as 183 calendar days
#: (psirf-rules §4.1, NAT-G ✖, treated as a hard cap in configuration). A setting, not law.
DEFAULT_HARD_CAP_DAYS: Final = 183

#: A guard registered from this module: name, check, summary, uses_payload.
GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]


@attrs.frozen
class ResponseClock:
    """A PSII's clock: when it started and how long the plan allows.

    Attributes:
        started_on: The date the response started (the lead was assigned).
        timescale_days: Calendar days the plan's timescale allows from the start.
        hard_cap_days: Calendar days after which only an executive override may go.
    """

    started_on: date
    timescale_days: int
    hard_cap_days: int

    @property
    def timescale_ends_on(self) -> date:
        """The last date within the plan's timescale (never later than the hard cap)."""
        return self.started_on + timedelta(days=min(self.timescale_days, self.hard_cap_days))

    @property
    def hard_cap_ends_on(self) -> date:
        """The last date within the hard cap."""
        return self.started_on + timedelta(days=self.hard_cap_days)


def _days(facts: Mapping[str, FactValue], name: str, default: int) -> int:
    value = facts.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return default


def response_clock(facts: Mapping[str, FactValue]) -> ResponseClock | None:
    """Read a response's clock from its facts; ``None`` until it has started.

    Args:
        facts: The case's facts (``started_on``, and optionally ``timescale_days`` and
            ``hard_cap_days``; the defaults apply when those are absent).
    """
    started = fact_date(facts.get("started_on"))
    if started is None:
        return None
    return ResponseClock(
        started_on=started,
        timescale_days=_days(facts, "timescale_days", DEFAULT_TIMESCALE_DAYS),
        hard_cap_days=_days(facts, "hard_cap_days", DEFAULT_HARD_CAP_DAYS),
    )


def current_target_date(facts: Mapping[str, FactValue]) -> date | None:
    """The date a response currently aims at; ``None`` until its clock has started.

    This is the agreed (or extended) ``target_date``, or, until one is agreed, the end of
    the plan's timescale.
    """
    agreed = fact_date(facts.get("target_date"))
    if agreed is not None:
        return agreed
    clock = response_clock(facts)
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


def _dated(name: str, check: DatedCheck) -> Callable[[GuardInput], GuardResult]:
    """A guard that needs the response's clock and the proposed target date.

    It refuses with ``clock_not_started`` or ``target_date_missing`` when either is missing,
    and otherwise hands both to ``check``.
    """

    def guard(g: GuardInput) -> GuardResult:
        clock = response_clock(g.facts)
        target = fact_date(g.facts.get("target_date"))
        if clock is None:
            return _not_started(name)
        if target is None:
            return _no_target(name)
        return check(name, g, clock, target)

    return guard


def _target_within_timescale(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    del g
    if target > clock.hard_cap_ends_on:
        return _result(
            name,
            False,
            "target_beyond_hard_cap",
            f"the target date {target} is beyond the hard cap ({clock.hard_cap_days} days from "
            f"the start on {clock.started_on}, so {clock.hard_cap_ends_on} at the latest); only "
            "the executive lead's hard-cap override can go beyond it",
        )
    return _result(
        name,
        target <= clock.timescale_ends_on,
        "target_beyond_timescale",
        f"the target date {target} is beyond the plan's timescale ({clock.timescale_days} days "
        f"from the start on {clock.started_on}, so {clock.timescale_ends_on} at the latest); "
        "an extension approved by the executive lead is needed",
    )


def _target_not_in_past(g: GuardInput) -> GuardResult:
    name = "target_not_in_past"
    target = fact_date(g.facts.get("target_date"))
    if target is None:
        return _no_target(name)
    if g.now is None:
        return _result(
            name,
            False,
            "decision_time_unknown",
            "the time of the decision is not known, so the target date cannot be checked",
        )
    today = g.now.date()
    return _result(
        name,
        target >= today,
        "target_in_past",
        f"the target date {target} is already past (today is {today})",
    )


def _extension_approver_independent(g: GuardInput) -> GuardResult:
    """SoD 5 (psirf-rules §5 rule 5, INF): the lead never approves their own extension.

    Ids are compared ignoring case (``GuardInput.actor_in``).
    """
    return _result(
        "extension_approver_independent",
        not g.actor_in(g.leads()),
        "extension_approver_is_lead",
        f"{g.actor.id} leads this response and so cannot approve its extension",
    )


def _extension_later_than_target(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    # The target before this command: the one agreed or extended, else the timescale's end.
    agreed = fact_date(g.case.facts.get("target_date")) if g.case is not None else None
    current = agreed or clock.timescale_ends_on
    return _result(
        name,
        target > current,
        "extension_not_later",
        f"the new target date {target} is not later than the current target {current}",
    )


def _extension_within_hard_cap(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    del g
    return _result(
        name,
        target <= clock.hard_cap_ends_on,
        "hard_cap_exceeded",
        f"the new target date {target} is beyond the hard cap ({clock.hard_cap_days} days "
        f"from the start on {clock.started_on}, so {clock.hard_cap_ends_on} at the latest); "
        "it needs the executive lead's hard-cap override with a reason",
    )


def _override_beyond_hard_cap(
    name: str, g: GuardInput, clock: ResponseClock, target: date
) -> GuardResult:
    del g
    return _result(
        name,
        target > clock.hard_cap_ends_on,
        "hard_cap_not_exceeded",
        f"the new target date {target} is within the hard cap ({clock.hard_cap_ends_on} at "
        "the latest), so it needs an ordinary extension, not a hard-cap override",
    )


#: Every timescale guard, registered with its lifecycle's definition.
ENGAGEMENT_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "target_within_timescale",
        _dated("target_within_timescale", _target_within_timescale),
        "The target date is within the plan's timescale from the start of the response "
        "(further needs an extension).",
        True,
    ),
    (
        "target_not_in_past",
        _target_not_in_past,
        "The target date is today or later.",
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
        _dated("extension_later_than_target", _extension_later_than_target),
        "The new target date is later than the current one.",
        True,
    ),
    (
        "extension_within_hard_cap",
        _dated("extension_within_hard_cap", _extension_within_hard_cap),
        "The new target date is within the hard cap (further needs the hard-cap override).",
        True,
    ),
    (
        "override_beyond_hard_cap",
        _dated("override_beyond_hard_cap", _override_beyond_hard_cap),
        "The new target date is beyond the hard cap (otherwise an ordinary extension is used).",
        True,
    ),
)
