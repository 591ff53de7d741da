"""Guards of the duty-of-candour lifecycle (England, regulation 20) and the harm mapping.

Regulation 20 of the Health and Social Care Act 2008 (Regulated Activities) Regulations
2014 is statutory (psirf-rules §4.2, HARD). The guards here check what the regulation
asks a record to show; they never invent a day count (the regulation says "as soon as
reasonably practicable", and any number of days is a local or contractual target).

* [`is_notifiable_harm`][psirf_flow.workflows.candour.guards.is_notifiable_harm] maps a harm
  category to reg 20(8)(a)-(b): death relating directly to the incident, severe harm, moderate harm
  or prolonged psychological harm (at least 28 continuous days, reg 20(7)) are notifiable; no harm
  and low harm are not, unless the trust's plan chooses to treat low harm as notifiable (a LOCAL
  setting).
* Verbal notification, reg 20(2)(b) and (3)(a)-(d): in person, facts, further enquiries,
  apology, support offered. The written record of it, (3)(e), is a required reference.
* Written notification, reg 20(4)(a)-(d); the stored copy, reg 20(6), is a required
  reference.
* Cannot be contacted or declines, reg 20(5): a written record of attempts to contact or
  of the declining is kept before the case may leave the verbal stage that way.
* Results of the enquiries, reg 20(4)(c) with psirf-rules §9.3 and §9.4: the learning
  response whose findings are shared exists in the same organisation, is approved (or
  shared or closed) and is linked to the same incident (`approved_response_problem`,
  which reads the engine-loaded ``GuardInput.references``).
* **Lateness needs a reason** (psirf-rules §4.2: "record the reason for any delay"; issue
  10). The plan's ``[duty_of_candour]`` working-day targets (LOCAL or contractual, never
  statutory; 10 working days each under the England and Wales calendar without a plan)
  are counted by `psirf_flow.policy.timing` from the local date of the step before:
  the verbal notification from awareness (the opening fact ``aware_on``, else the date the
  case was opened), the written one from the verbal one (``verbal_notified_on``), the
  findings from the learning response's approval (``findings_available_on``). A step
  recorded after its due date needs its ``*_delay_reason`` code, or it is refused as
  [`ReasonMissing`][psirf_flow.errors.ReasonMissing] (`candour_due_date`).

The guards are merged into `psirf_flow.workflows.registry.GUARDS`; this module only depends on
[`psirf_flow.domain`][psirf_flow.domain] and the harm vocabulary (`psirf_flow.policy.harm`) at run
time, so the registry stays single.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Final, Literal, TypeGuard

from psirf_flow.domain import FactValue, GuardResult
from psirf_flow.errors import REASON_MISSING
from psirf_flow.policy.calendars import Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.harm import CANDOUR_HARM_CODES, current_harm_code
from psirf_flow.policy.timing import due, local_date, local_midnight
from psirf_flow.workflows.guards import fact_date


if TYPE_CHECKING:
    from psirf_flow.policy.governance import Governance
    from psirf_flow.workflows.guards import GuardInput


__all__ = [
    "APPROVED_STATES",
    "CANDOUR_GUARDS",
    "HARM_CATEGORIES",
    "LOCALLY_NOTIFIABLE_HARM",
    "NOT_NOTIFIABLE_REASONS",
    "STATUTORY_NOTIFIABLE_HARM",
    "CandourStep",
    "approved_response_problem",
    "candour_due_date",
    "candour_started_on",
    "is_notifiable_harm",
]

HARM_CATEGORIES: Final = CANDOUR_HARM_CODES
"""Harm categories an HCP may record, least to most serious: the LFPSE physical grades of
[`psirf_flow.policy.harm`][psirf_flow.policy.harm] (``none`` ... ``fatal``) and
``prolonged_psychological``, psychological harm experienced, or likely to be, for at least 28
continuous days.
"""
_HARM_WORDS: Final = {
    "none": "no harm",
    "low": "low harm",
    "moderate": "moderate harm",
    "severe": "severe harm",
    "fatal": "a death",
    "prolonged_psychological": "prolonged psychological harm",
}
STATUTORY_NOTIFIABLE_HARM: Final = frozenset(
    {"moderate", "severe", "fatal", "prolonged_psychological"}
)
"""Reg 20(8)(a)-(b) for a health service body (HARD)."""
LOCALLY_NOTIFIABLE_HARM: Final = frozenset({"low"})
"""What a trust's plan may add when it treats low harm as notifiable (LOCAL)."""
NOT_NOTIFIABLE_REASONS: Final = (
    "harm_below_threshold",
    "not_unintended_or_unexpected",
    "not_during_regulated_activity",
    "death_not_directly_related",
)
"""Why an HCP finds an incident not notifiable. Only ``harm_below_threshold`` is about the
harm; the others are the other elements of reg 20(8) (the incident was not unintended or
unexpected, did not occur while a regulated activity was provided, or a death relates to
the natural course of the illness rather than directly to the incident)."""

GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]
"""A guard registered from this module: name, check, summary, uses_payload."""


def is_notifiable_harm(harm_category: str, *, low_harm_notifiable: bool = False) -> bool:
    """Tell whether ``harm_category`` makes an incident notifiable under reg 20(8).

    Regulation 20(8) (health service bodies): an unintended or unexpected incident that, in
    the reasonable opinion of a health care professional, could result in or appears to have
    resulted in (a) the death of the service user, where the death relates directly to the
    incident rather than to the natural course of their illness or underlying condition, or
    (b) severe harm, moderate harm or prolonged psychological harm. The other elements of
    reg 20(8) are the professional's judgement and are not decided here.

    Rules: [A notifiable safety incident is one whose harm regulation 20
    names][candour-notifiable-incident]; [The trust may also notify no- or low-harm
    incidents][candour-no-or-low-harm-local].

    Args:
        harm_category: One of `HARM_CATEGORIES` (an old word, ``no_harm`` or
            ``death``, is read as its current code, see `psirf_flow.policy.harm`).
        low_harm_notifiable: The trust's plan treats low harm as notifiable (a local
            choice, never a statutory one).

    Raises:
        ValueError: If ``harm_category`` is not a known category.
    """
    harm_category = str(current_harm_code(harm_category))
    if harm_category not in HARM_CATEGORIES:
        msg = f"unknown harm category {harm_category!r}; expected one of {HARM_CATEGORIES}"
        raise ValueError(msg)
    if harm_category in STATUTORY_NOTIFIABLE_HARM:
        return True
    return low_harm_notifiable and harm_category in LOCALLY_NOTIFIABLE_HARM


_result = GuardResult.judge


def _known(harm: object) -> TypeGuard[str]:
    return isinstance(harm, str) and harm in HARM_CATEGORIES


def _harm(g: GuardInput) -> object:
    """The recorded harm category, an old word read as its current code."""
    return current_harm_code(g.facts.get("harm_category"))


def _words(code: object) -> str:
    return str(code).replace("_", " ")


def _unknown_harm(name: str, harm: object) -> GuardResult:
    return _result(
        name,
        False,
        "harm_category_unknown",
        f"{_words(harm)} is not a harm category this lifecycle knows",
    )


# The guards made from parameters are partials of these module-level functions written
# into CANDOUR_GUARDS (not closures made at import time), so that each check runs, and can
# be mutation-tested, each time the guard is judged.


def _check_harm_is_notifiable(name: str, low_harm_notifiable: bool, g: GuardInput) -> GuardResult:
    """The harm recorded is notifiable (low harm too where the plan notifies it).

    Rules: [A notifiable safety incident is one whose harm regulation 20
    names][candour-notifiable-incident]; [The trust may also notify no- or low-harm
    incidents][candour-no-or-low-harm-local].
    """
    harm = _harm(g)
    if not _known(harm):
        return _unknown_harm(name, harm)
    plan = " and the trust's plan does not treat it as notifiable"
    return _result(
        name,
        is_notifiable_harm(harm, low_harm_notifiable=low_harm_notifiable),
        "harm_not_notifiable",
        f"{_HARM_WORDS[harm]} is not notifiable under regulation 20(8)"
        + (plan if harm in LOCALLY_NOTIFIABLE_HARM else ""),
    )


def _check_harm_is_not_notifiable(
    name: str, low_harm_notifiable: bool, g: GuardInput
) -> GuardResult:
    """A harm below the threshold is no or low harm (no harm where the plan notifies low).

    Rules: [A notifiable safety incident is one whose harm regulation 20
    names][candour-notifiable-incident]; [The trust may also notify no- or low-harm
    incidents][candour-no-or-low-harm-local].
    """
    harm = _harm(g)
    if g.facts.get("not_notifiable_reason") != "harm_below_threshold":
        # Another element of reg 20(8) is not met; the professional's judgement stands.
        return GuardResult(name, ok=True)
    if not _known(harm):
        return _unknown_harm(name, harm)
    basis = "the trust's plan" if harm in LOCALLY_NOTIFIABLE_HARM else "regulation 20(8)"
    return _result(
        name,
        not is_notifiable_harm(harm, low_harm_notifiable=low_harm_notifiable),
        "harm_requires_notification",
        f"{_HARM_WORDS[harm]} is notifiable under {basis}, so the incident cannot be "
        "found not notifiable on the grounds of its harm",
    )


def _check_flag_true(
    name: str, fact: str, code: str, explanation: str, g: GuardInput
) -> GuardResult:
    """The checklist item `fact` of regulation 20(3) or 20(4) is recorded as done.

    Rules: [Notify in person with the facts, further enquiries and an apology, and offer
    support][candour-verbal-notification]; [Follow with a letter: the facts, the enquiries, results
    so far and an apology][candour-written-notification].
    """
    return _result(name, g.facts.get(fact) is True, code, explanation)


def _contact_attempt_in_sequence(g: GuardInput) -> GuardResult:
    """A contact attempt is numbered one more than the attempts already recorded.

    Rule: [If the person cannot be contacted or declines, the attempts are
    recorded][candour-uncontactable-recorded].
    """
    before = g.case.facts.get("contact_attempts", 0) if g.case is not None else 0
    given = g.payload.get("contact_attempts")
    expected = (before if isinstance(before, int) else 0) + 1
    return _result(
        "contact_attempt_in_sequence",
        given == expected,
        "contact_attempt_out_of_sequence",
        f"this would be contact attempt {expected}, but it is numbered {given}",
    )


def _unable_to_notify_recorded(g: GuardInput) -> GuardResult:
    """Leaving the verbal stage unreached needs a recorded attempt or refusal.

    Before leaving the verbal stage as uncontactable or declined, at least one contact
    attempt or a record of the declining is kept (regulation 20(5)).

    Rule: [If the person cannot be contacted or declines, the attempts are
    recorded][candour-uncontactable-recorded].
    """
    name = "unable_to_notify_recorded"
    if g.facts.get("unable_reason") == "declined":
        return _result(
            name,
            isinstance(g.facts.get("declined_record_ref"), str),
            "declining_not_recorded",
            "the relevant person is said to have declined, but no record of their declining "
            "has been kept",
        )
    attempts = g.facts.get("contact_attempts", 0)
    return _result(
        name,
        isinstance(attempts, int) and attempts > 0,
        "contact_attempts_missing",
        "the relevant person is said to be uncontactable, but no attempt to contact them "
        "has been recorded",
    )


APPROVED_STATES: Final = frozenset({"approved", "shared", "closed"})
"""States of a learning response whose report is approved (psirf-rules §9.1)."""


def approved_response_problem(g: GuardInput) -> tuple[str, str] | None:
    """Why the learning response the case names cannot give findings, or ``None``.

    The response named by the ``learning_response_id`` fact must exist in the case's own
    organisation (a missing case and another organisation's look the same), be a learning
    response, be approved or later (shared, closed) and share an incident with the case
    (reg 20(4)(c); psirf-rules §9.3 ``RESULTS_DUE -> COMPLETE``, §9.4).

    Returns:
        ``(reason code, explanation)`` for the first problem, or ``None`` when it may.
    """
    named = g.facts.get("learning_response_id")
    organisation = g.case.organisation if g.case is not None else g.actor.organisation
    ref = g.references.get(named) if isinstance(named, str) else None
    if ref is None or ref.organisation != organisation or ref.family != "learning_response":
        return ("no_such_learning_response", "there is no such learning response")
    if ref.state not in APPROVED_STATES:
        return (
            "learning_response_not_approved",
            f"the learning response is {ref.state.replace('_', ' ')}, not yet approved",
        )
    if not set(ref.incident_ids) & set(g.ids("incident_ids")):
        return (
            "learning_response_other_incident",
            "the learning response is not linked to this case's incident",
        )
    return None


def _approved_for_incident(g: GuardInput) -> GuardResult:
    """The learning response named is approved and linked to this case's incident.

    It exists in this organisation, is approved (or shared or closed) and is linked to this
    case's incident.

    Rule: [The results of further enquiries are shared once the learning response is
    approved][candour-results-shared].
    """
    problem = approved_response_problem(g)
    code, explanation = problem if problem is not None else ("", "")
    return _result("learning_response_approved_for_incident", problem is None, code, explanation)


def _findings_available(g: GuardInput) -> GuardResult:
    """Findings are available: an approved, linked learning response, or concluded enquiries.

    The learning response named is approved (or later), exists in this organisation and is
    linked to this case's incident; or other enquiries are recorded as concluded.

    Rule: [The results of further enquiries are shared once the learning response is
    approved][candour-results-shared].
    """
    if isinstance(g.facts.get("learning_response_id"), str):
        problem = approved_response_problem(g)
        if problem is not None:
            return _result("findings_available", False, *problem)
    ok = any(
        isinstance(g.facts.get(f), str)
        for f in ("learning_response_approved_ref", "enquiries_concluded_ref")
    )
    return _result(
        "findings_available",
        ok,
        "findings_not_available",
        "the learning response has not been approved and no other enquiries are recorded "
        "as concluded, so there are no findings to share yet",
    )


CandourStep = Literal["verbal", "written", "findings"]
"""A step of the duty of candour with a local working-day target (psirf-rules §4.2)."""
DEFAULT_CANDOUR_WORKING_DAYS: Final = 10
"""The working days each step takes without a plan: the common local 10 (psirf-rules §4.2,
LOCAL, from the 2013/14 Standard Contract; never statutory)."""
_DEFAULT_CALENDAR: Final = WorkingDayCalendar()
_STARTED_BY: Final[Mapping[str, str]] = {
    "verbal": "aware_on",
    "written": "verbal_notified_on",
    "findings": "findings_available_on",
}
"""The fact each step's clock starts from (the local date of the step before)."""
NOTIFICATION_RESTARTED_ON: Final = "notification_restarted_on"
"""The local date ``reassess``, ``reopen`` or ``relevant_person_engages`` last restarted the
verbal notification's clock (stamped by the engine), as the deadline rows restart it."""


def candour_started_on(
    step: CandourStep, facts: Mapping[str, FactValue], opened_at: datetime
) -> date | None:
    """The local date the clock of ``step`` starts from; ``None`` until it has started.

    The verbal notification counts from awareness: the opening fact ``aware_on``, or the
    Europe/London date the case was opened (``opened_at``) when none was given; after a
    reassessment, a reopening or a relevant person who engages later, from that step's date
    (``notification_restarted_on``: a new clock for the new work, issue 10). The written
    notification counts from the verbal one and the findings from the approval of the
    learning response (or the conclusion of other enquiries), both stamped by the engine.
    """
    started = fact_date(facts.get(_STARTED_BY[step]))
    if step != "verbal":
        return started
    aware = started if started is not None else local_date(opened_at)
    restarted = fact_date(facts.get(NOTIFICATION_RESTARTED_ON))
    return aware if restarted is None else max(aware, restarted)


def candour_due_date(
    step: CandourStep,
    facts: Mapping[str, FactValue],
    opened_at: datetime,
    governance: Governance | None = None,
) -> date | None:
    """The local date ``step`` is due by under the plan's targets; ``None`` until it starts.

    The plan's ``duty_of_candour`` working days (``verbal_working_days``,
    ``written_working_days``, ``findings_working_days``) under its calendar, or 10 working
    days under the England and Wales calendar without a plan (a LOCAL default,
    psirf-rules §4.2), counted from `candour_started_on` by the rule "N working days
    from event E" of `psirf_flow.policy.timing`.

    Examples:
        ```python
        from datetime import UTC, datetime
        from psirf_flow.workflows.candour.guards import candour_due_date
        aware = {"aware_on": "2026-12-23"}
        opened = datetime(2026, 12, 23, 9, tzinfo=UTC)
        candour_due_date("verbal", aware, opened)  # date(2027, 1, 11), after the bank holidays
        ```
    """
    start = candour_started_on(step, facts, opened_at)
    if start is None:
        return None
    days, calendar = DEFAULT_CANDOUR_WORKING_DAYS, _DEFAULT_CALENDAR
    if governance is not None:
        targets = governance.plan.duty_of_candour
        days = {
            "verbal": targets.verbal_working_days,
            "written": targets.written_working_days,
            "findings": targets.findings_working_days,
        }[step]
        calendar = governance.plan.working_calendar()
    found = due(local_midnight(start), Timescale(days, TimeUnit.WORKING_DAYS), calendar)
    return found.due_date


def _check_delay_explained(name: str, step: CandourStep, field: str, g: GuardInput) -> GuardResult:
    """A step recorded after its due date names the reason for the delay (psirf-rules §4.2).

    Rules: [Notify within the plan's working days of becoming aware (10 by default), or say
    why][candour-notify-10-working-days]; [Send the letter within the plan's working days of the
    notification (10 by default), or say why][candour-written-10-working-days]; [Share the results
    within the plan's working days of approval (10 by default), or say
    why][candour-results-10-working-days].
    """
    if g.case is None or g.now is None:
        return _result(
            name,
            False,
            "decision_time_unknown",
            "the time of the decision is not known, so lateness cannot be checked",
        )
    due_on = candour_due_date(step, g.case.facts, g.case.opened_at, g.governance)
    today = local_date(g.now)
    late = due_on is not None and today > due_on
    return _result(
        name,
        not late or isinstance(g.payload.get(field), str),
        REASON_MISSING,
        f"the {step} step was due by {due_on} and is recorded on {today}, so the reason "
        f"for the delay ({field}) is needed",
    )


def _aware_not_in_future(g: GuardInput) -> GuardResult:
    """The organisation cannot have become aware after the case is opened.

    Rule: [The date of becoming aware is recorded, never in the future][candour-aware-date].
    """
    aware = fact_date(g.facts.get("aware_on"))
    if aware is None:
        return _result("aware_not_in_future", True, "ok", "")
    if g.now is None:
        return _result(
            "aware_not_in_future",
            False,
            "decision_time_unknown",
            "the time of the decision is not known, so the awareness date cannot be checked",
        )
    today = local_date(g.now)
    return _result(
        "aware_not_in_future",
        aware <= today,
        "aware_in_future",
        f"the organisation cannot have become aware on {aware}, after today ({today})",
    )


_LATENESS: Final[tuple[tuple[str, CandourStep, str, str], ...]] = (
    (
        "verbal_delay_explained",
        "verbal",
        "verbal_delay_reason",
        "A notification given after the plan's working-day target from awareness names the "
        "reason for the delay.",
    ),
    (
        "written_delay_explained",
        "written",
        "written_delay_reason",
        "A written notification after the plan's working-day target from the verbal one names "
        "the reason for the delay.",
    ),
    (
        "results_delay_explained",
        "findings",
        "results_delay_reason",
        "Findings shared after the plan's working-day target from the approval name the "
        "reason for the delay.",
    ),
)
"""Lateness guards: (name, step, delay reason field, summary)."""


_CHECKLIST: Final = (
    (
        "verbal_in_person",
        "in_person",
        "notification_not_in_person",
        "the notification was not given in person (regulation 20(3)(a))",
        "The notification was given in person (regulation 20(3)(a)).",
    ),
    (
        "verbal_facts_given",
        "facts_given",
        "facts_not_given",
        "the known facts were not given (regulation 20(3)(b))",
        "The facts known at the time were given (regulation 20(3)(b)).",
    ),
    (
        "verbal_enquiries_explained",
        "further_enquiries_explained",
        "enquiries_not_explained",
        "the further enquiries were not explained (regulation 20(3)(c))",
        "The further enquiries thought appropriate were explained (regulation 20(3)(c)).",
    ),
    (
        "verbal_apology_given",
        "apology_given",
        "apology_not_given",
        "no apology was given (regulation 20(3)(d))",
        "An apology was given (regulation 20(3)(d)).",
    ),
    (
        "verbal_support_offered",
        "support_offered",
        "support_not_offered",
        "reasonable support was not offered (regulation 20(2)(b))",
        "Reasonable support was offered (regulation 20(2)(b)).",
    ),
    (
        "written_facts_included",
        "facts_included",
        "written_facts_missing",
        "the letter does not give the facts told in person (regulation 20(4)(a))",
        "The letter gives the facts told in person (regulation 20(4)(a)).",
    ),
    (
        "written_enquiries_included",
        "enquiries_included",
        "written_enquiries_missing",
        "the letter does not detail the enquiries to be undertaken (regulation 20(4)(b))",
        "The letter details the enquiries to be undertaken (regulation 20(4)(b)).",
    ),
    (
        "written_results_included",
        "results_to_date_included",
        "written_results_missing",
        "the letter does not give the results of enquiries so far, or say there are none yet "
        "(regulation 20(4)(c))",
        "The letter gives the results of enquiries so far, or says there are none yet "
        "(regulation 20(4)(c)).",
    ),
    (
        "written_apology_included",
        "apology_included",
        "written_apology_missing",
        "the letter does not include an apology (regulation 20(4)(d))",
        "The letter includes an apology (regulation 20(4)(d)).",
    ),
)
"""Checklist guards: (name, fact that must be true, reason code, explanation, summary)."""

CANDOUR_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "harm_is_notifiable",
        partial(_check_harm_is_notifiable, "harm_is_notifiable", False),
        "The harm recorded is notifiable under regulation 20(8) (moderate, severe, death or "
        "prolonged psychological harm).",
        True,
    ),
    (
        "harm_is_notifiable_low_harm_local",
        partial(_check_harm_is_notifiable, "harm_is_notifiable_low_harm_local", True),
        "The harm recorded is notifiable under regulation 20(8), or is low harm, which the "
        "trust's plan treats as notifiable.",
        True,
    ),
    (
        "harm_is_not_notifiable",
        partial(_check_harm_is_not_notifiable, "harm_is_not_notifiable", False),
        "When the incident is found not notifiable because of its harm, the harm is no or "
        "low harm.",
        True,
    ),
    (
        "harm_is_not_notifiable_low_harm_local",
        partial(_check_harm_is_not_notifiable, "harm_is_not_notifiable_low_harm_local", True),
        "When the incident is found not notifiable because of its harm, the harm is no harm "
        "(the trust's plan treats low harm as notifiable).",
        True,
    ),
    *(
        (name, partial(_check_flag_true, name, fact, code, explanation), summary, True)
        for name, fact, code, explanation, summary in _CHECKLIST
    ),
    *(
        (name, partial(_check_delay_explained, name, step, field), summary, True)
        for name, step, field, summary in _LATENESS
    ),
    (
        "aware_not_in_future",
        _aware_not_in_future,
        "The date the organisation became aware is not after today (Europe/London).",
        True,
    ),
    (
        "contact_attempt_in_sequence",
        _contact_attempt_in_sequence,
        "A contact attempt is numbered one more than the attempts already recorded.",
        True,
    ),
    (
        "unable_to_notify_recorded",
        _unable_to_notify_recorded,
        "Before leaving the verbal stage as uncontactable or declined, at least one contact "
        "attempt or a record of the declining is kept (regulation 20(5)).",
        True,
    ),
    (
        "learning_response_approved_for_incident",
        _approved_for_incident,
        "The learning response named exists in this organisation, is approved (or shared or "
        "closed) and is linked to this case's incident.",
        True,
    ),
    (
        "findings_available",
        _findings_available,
        "The learning response named is approved (or later), exists in this organisation "
        "and is linked to this case's incident; or other enquiries are recorded as "
        "concluded.",
        False,
    ),
)
"""Every duty-of-candour guard, registered with its lifecycle's definition."""
