"""What people ask of the clocks: caseloads, overdue and due-soon lists, board figures.

Read-only queries over the deadline rows the engine writes with each step
([`Deadline`][psirf_flow.domain.Deadline]), for investigators planning their week, patient
safety teams chasing what is late, and boards or integrated care boards asking how the
organisation is doing (psirf-rules §4: learning-response timescales and the duty of
candour's working-day target; §9.4: ICB oversight reads the organisations it oversees).

Every function names its reader. The organisations come from the reader through the
engine's access rules ([`find_deadlines`][psirf_flow.engine.Engine.find_deadlines]): a person sees
their own organisation, an ICB oversight reader also the organisations it oversees, a
[`SystemReader`][psirf_flow.domain.SystemReader] every organisation; another organisation's
deadlines never appear, whatever the filters. Records hold ids, codes, dates and counts
only: never names or free text.

Overdue means past the breach instant (``due_at``: 00:00 Europe/London on the day after
the due date, or the exact instant of an hours rule). A clock on hold (``paused``) stops:
it counts as overdue only if it was already past due when the case went on hold, and its
lateness is measured up to that moment. Days overdue are working days (Monday to Friday,
not a bank holiday, not a closure day) after the due date up to today, under the engine's
plan calendar, or England and Wales without a plan; a deadline breached at the weekend is
overdue by zero working days until Monday.

Each query reads at most [`MOST_ROWS`][psirf_flow.reports.MOST_ROWS] deadline rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Final

import attrs

from psirf_flow import _inputs
from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, DeadlineStatus, Reader
from psirf_flow.engine import Engine
from psirf_flow.errors import InvalidInput
from psirf_flow.oversight import (
    overridden_national_requirements,
    plan_departures,
    reserve_capacity_use,
)
from psirf_flow.policy.calendars import WorkingDayCalendar
from psirf_flow.policy.plan import Plan
from psirf_flow.policy.timing import breach_instant, local_date, local_midnight, working_days_after
from psirf_flow.ports import CaseQuery, DeadlineQuery


__all__ = [
    "CANDOUR_KINDS",
    "MOST_ROWS",
    "SAFETY_ACTION_KIND",
    "CandourTimeliness",
    "CaseloadItem",
    "DeadlineItem",
    "OversightSummary",
    "Progress",
    "ReserveUse",
    "StateCount",
    "candour_timeliness",
    "caseload",
    "due_soon",
    "overdue",
    "oversight_summary",
    "safety_actions",
]

CANDOUR_KINDS: Final = ("candour_notification", "candour_written", "candour_findings")
"""The duty-of-candour deadline kinds, in the order the steps fall due (psirf-rules §4.2)."""
SAFETY_ACTION_KIND: Final = "safety_action_due"
"""The deadline kind of a safety action's due date."""
MOST_ROWS: Final = 100_000
"""The most deadline rows one query reads."""

_MOST_DAYS: Final = 1_000
"""The most working days ``due_soon`` looks ahead."""
_LONGEST_PERIOD: Final = timedelta(days=3_650)
"""The longest real time ``due_soon`` looks ahead (beyond it, instants overflow)."""
_RUNNING: Final = frozenset({DeadlineStatus.OPEN.value, DeadlineStatus.PAUSED.value})
_OPEN: Final = frozenset({DeadlineStatus.OPEN.value})


@attrs.frozen(kw_only=True)
class CaseloadItem:
    """One case on a person's caseload.

    Attributes:
        case_id: The case.
        organisation: The case's organisation.
        workflow: The case's workflow name.
        state: The case's current state.
        next_kind: The kind of the earliest running deadline the person answers for.
        next_due_date: Its Europe/London due date (``None`` for an hours rule).
        next_due_at: Its breach instant (aware UTC).
        overdue: Whether any of the person's deadlines on the case is overdue.
        on_hold: Whether every one of those deadlines is paused (the case is on hold).
        deadlines: How many running deadlines the person answers for on the case.
    """

    case_id: str
    organisation: str
    workflow: str
    state: str
    next_kind: str
    next_due_date: date | None
    next_due_at: datetime
    overdue: bool
    on_hold: bool
    deadlines: int


@attrs.frozen(kw_only=True)
class DeadlineItem:
    """One deadline as an overdue, due-soon or safety-action list shows it.

    Attributes:
        case_id: The case.
        organisation: The case's organisation.
        workflow: The case's workflow name.
        kind: What is due (``"response_target"``, ``"candour_notification"``, ...).
        cycle: The clock's cycle (0, or one more per reopening).
        status: ``"open"`` or ``"paused"`` (on hold).
        owner: The person answerable, when the case names one (an opaque id).
        due_date: The Europe/London due date (``None`` for an hours rule).
        due_at: The breach instant (aware UTC).
        tiers_fired: How many escalation tiers have fired.
        overdue: Whether it is past ``due_at`` (for a paused clock: when it was paused).
        days_overdue: Working days overdue (0 when not overdue).
    """

    case_id: str
    organisation: str
    workflow: str
    kind: str
    cycle: int
    status: str
    owner: str | None
    due_date: date | None
    due_at: datetime
    tiers_fired: int
    overdue: bool
    days_overdue: int


@attrs.frozen(kw_only=True)
class CandourTimeliness:
    """How one organisation met one duty-of-candour step falling due in a period.

    Counted from the deadlines' ``met_at`` against ``due_at`` (psirf-rules §4.2: the working
    day target is a local standard, not the regulation's, which says "as soon as reasonably
    practicable"). A clock replaced by a new one (``superseded``) is not counted.

    Attributes:
        organisation: The organisation.
        kind: The candour step (one of [`CANDOUR_KINDS`][psirf_flow.reports.CANDOUR_KINDS]).
        due: Deadlines falling due in the period (the four counts below add up to it).
        met_on_time: Met at or before ``due_at``.
        met_late: Met after ``due_at``.
        open_overdue: Not met, and past ``due_at`` (a paused clock: when it was paused).
        open_not_due: Not met, and not yet due.
        cleared: Stood down without the step (not counted in ``due``).
    """

    organisation: str
    kind: str
    due: int
    met_on_time: int
    met_late: int
    open_overdue: int
    open_not_due: int
    cleared: int


def caseload(
    engine: Engine, person_id: str, *, reader: Reader, now: datetime
) -> tuple[CaseloadItem, ...]:
    """The cases a person answers for, earliest next due date first.

    A case is on the caseload while it has a running (open or paused) deadline owned by the
    person (a learning response's lead, a safety action's owner).

    Args:
        engine: The engine whose store holds the cases.
        person_id: The person (an opaque id).
        reader: Who reads; only cases of organisations they may see are listed.
        now: The instant "overdue" is judged at (aware).

    Raises:
        InvalidInput: If an argument has the wrong type or shape, naming it.
    """
    _engine(engine)
    person_id = _inputs.identifier("person_id", person_id)
    now = _inputs.moment("now", now)
    rows = _find(engine, reader, DeadlineQuery(owner=person_id, statuses=_RUNNING, limit=MOST_ROWS))
    by_case: dict[str, list[Deadline]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    items = []
    for case_id, deadlines in by_case.items():
        case = engine.get(case_id, reader=reader)
        open_rows = [d for d in deadlines if d.status == DeadlineStatus.OPEN.value]
        following = min(open_rows or deadlines, key=lambda d: (d.due_at, d.key))
        items.append(
            CaseloadItem(
                case_id=case.id,
                organisation=case.organisation,
                workflow=case.workflow,
                state=case.state,
                next_kind=following.kind,
                next_due_date=following.due_date,
                next_due_at=following.due_at,
                overdue=any(_is_overdue(d, now) for d in deadlines),
                on_hold=not open_rows,
                deadlines=len(deadlines),
            )
        )
    items.sort(key=lambda item: (item.next_due_at, item.case_id))
    return tuple(items)


def overdue(
    engine: Engine,
    *,
    reader: Reader,
    now: datetime,
    organisation: str | Iterable[str] | None = None,
    workflow: str | None = None,
    tier: int | None = None,
) -> tuple[DeadlineItem, ...]:
    """The running deadlines past due, most overdue first.

    Args:
        engine: The engine whose store holds the deadlines.
        reader: Who reads; only organisations they may see are listed.
        now: The instant overdue is judged at (aware).
        organisation: Only this organisation, or these organisations.
        workflow: Only cases of this workflow.
        tier: Only deadlines with at least this many escalation tiers fired.

    Raises:
        InvalidInput: If an argument has the wrong type or shape, naming it.
    """
    _engine(engine)
    now = _inputs.moment("now", now)
    if tier is not None:
        tier = _whole("tier", tier, most=None)
    query = DeadlineQuery(
        organisations=_inputs.organisations(organisation),
        workflow=None if workflow is None else _inputs.name("workflow", workflow),
        statuses=_RUNNING,
        due_before=now,
        limit=MOST_ROWS,
    )
    calendar = _calendar(engine)
    return tuple(
        _item(row, now, calendar)
        for row in _find(engine, reader, query)
        if _is_overdue(row, now) and (tier is None or row.tier >= tier)
    )


def due_soon(
    engine: Engine,
    *,
    reader: Reader,
    now: datetime,
    within: timedelta | int,
    organisation: str | Iterable[str] | None = None,
    workflow: str | None = None,
) -> tuple[DeadlineItem, ...]:
    """The open deadlines not yet due that fall due soon, earliest first.

    Args:
        engine: The engine whose store holds the deadlines.
        reader: Who reads; only organisations they may see are listed.
        now: The instant to look ahead from (aware).
        within: How far ahead: real time (a ``timedelta`` of at most ten years), or a whole
            number of working days (a deadline due on or before the Nth working day after today's
            Europe/London date; 0 means due today).
        organisation: Only this organisation, or these organisations.
        workflow: Only cases of this workflow.

    Raises:
        InvalidInput: If an argument has the wrong type or shape, naming it.
    """
    _engine(engine)
    now = _inputs.moment("now", now)
    calendar = _calendar(engine)
    if isinstance(within, timedelta):
        horizon = now + _period(within)
    else:
        days = _whole("within", within, most=_MOST_DAYS)
        horizon = breach_instant(working_days_after(local_date(now), days, calendar))
    query = DeadlineQuery(
        organisations=_inputs.organisations(organisation),
        workflow=None if workflow is None else _inputs.name("workflow", workflow),
        statuses=_OPEN,
        due_before=horizon,
        limit=MOST_ROWS,
    )
    return tuple(
        _item(row, now, calendar) for row in _find(engine, reader, query) if row.due_at > now
    )


def safety_actions(
    engine: Engine,
    *,
    reader: Reader,
    now: datetime,
    organisation: str | Iterable[str] | None = None,
) -> tuple[DeadlineItem, ...]:
    """Every running safety action's due date, earliest first, overdue ones flagged.

    Args:
        engine: The engine whose store holds the deadlines.
        reader: Who reads; only organisations they may see are listed.
        now: The instant overdue is judged at (aware).
        organisation: Only this organisation, or these organisations.

    Raises:
        InvalidInput: If an argument has the wrong type or shape, naming it.
    """
    _engine(engine)
    now = _inputs.moment("now", now)
    query = DeadlineQuery(
        organisations=_inputs.organisations(organisation),
        kind=SAFETY_ACTION_KIND,
        statuses=_RUNNING,
        limit=MOST_ROWS,
    )
    calendar = _calendar(engine)
    return tuple(_item(row, now, calendar) for row in _find(engine, reader, query))


def candour_timeliness(
    engine: Engine,
    *,
    reader: Reader,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    organisation: str | Iterable[str] | None = None,
) -> tuple[CandourTimeliness, ...]:
    """Duty-of-candour timeliness per organisation and step, for deadlines due in a period.

    Args:
        engine: The engine whose store holds the deadlines.
        reader: Who reads; only organisations they may see are counted.
        since: The period's start (aware; deadlines with ``due_at`` at or after it).
        until: The period's end (aware; deadlines with ``due_at`` before it).
        now: The instant an unmet deadline is judged overdue at (the engine's clock by
            default).
        organisation: Only this organisation, or these organisations.

    Returns:
        One record per organisation and candour step with a deadline in the period, by
        organisation, then step.

    Raises:
        InvalidInput: If an argument has the wrong type or shape (or ``until`` is not after
            ``since``), naming it.
    """
    _engine(engine)
    since = _inputs.moment("since", since)
    until = _inputs.moment("until", until)
    if until <= since:
        raise InvalidInput("until", "must be after since")
    now = engine.clock.now() if now is None else _inputs.moment("now", now)
    organisations = _inputs.organisations(organisation)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for kind in CANDOUR_KINDS:
        query = DeadlineQuery(
            organisations=organisations, kind=kind, due_before=until, limit=MOST_ROWS
        )
        for row in _find(engine, reader, query):
            if not since <= row.due_at < until:
                continue
            outcome = _candour_outcome(row, now)
            if outcome is None:
                continue
            tally = counts.setdefault((row.organisation, kind), dict.fromkeys(_OUTCOMES, 0))
            tally[outcome] += 1
    order = {kind: place for place, kind in enumerate(CANDOUR_KINDS)}
    return tuple(
        CandourTimeliness(
            organisation=org,
            kind=kind,
            due=sum(tally[o] for o in _OUTCOMES if o != "cleared"),
            **tally,
        )
        for (org, kind), tally in sorted(counts.items(), key=lambda i: (i[0][0], order[i[0][1]]))
    )


_OUTCOMES: Final = ("met_on_time", "met_late", "open_overdue", "open_not_due", "cleared")


def _candour_outcome(row: Deadline, now: datetime) -> str | None:
    if row.status == DeadlineStatus.MET.value:
        met_at = row.met_at if row.met_at is not None else row.due_at
        return "met_on_time" if met_at <= row.due_at else "met_late"
    if row.status == DeadlineStatus.CLEARED.value:
        return "cleared"
    if row.status in _RUNNING:
        return "open_overdue" if _is_overdue(row, now) else "open_not_due"
    return None  # superseded: replaced by a newer clock, counted there


def _period(within: timedelta) -> timedelta:
    """``within`` if it is a duration from zero up to `_LONGEST_PERIOD`."""
    _inputs.period("within", within)
    if within > _LONGEST_PERIOD:
        raise InvalidInput("within", f"must be at most {_LONGEST_PERIOD.days:,} days")
    return within


def _whole(argument: str, value: object, *, most: int | None) -> int:
    """``value`` if it is a whole number from 0 (to ``most``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 0
        or (most is not None and value > most)
    ):
        upto = "" if most is None else f" up to {most:,}"
        raise InvalidInput(argument, f"must be a whole number from 0{upto}")
    return value


def _engine(engine: object) -> None:
    if not isinstance(engine, Engine):
        raise InvalidInput("engine", f"must be an Engine, got {type(engine).__name__}")


def _find(engine: Engine, reader: Reader, query: DeadlineQuery) -> Sequence[Deadline]:
    return engine.find_deadlines(query, reader=reader)


def _calendar(engine: Engine) -> WorkingDayCalendar:
    """The engine's plan calendar, or England and Wales without a plan."""
    book = engine.plan_book
    return WorkingDayCalendar() if book is None else book.current.plan.working_calendar()


def _judged_at(row: Deadline, now: datetime) -> datetime:
    """When a row's lateness is judged: now, or when its clock stopped for a hold."""
    if row.status == DeadlineStatus.PAUSED.value and row.paused_at is not None:
        return min(row.paused_at, now)
    return now


def _is_overdue(row: Deadline, now: datetime) -> bool:
    return row.status in _RUNNING and row.due_at <= _judged_at(row, now)


def _days_overdue(row: Deadline, now: datetime, calendar: WorkingDayCalendar) -> int:
    if not _is_overdue(row, now):
        return 0
    day = row.due_date if row.due_date is not None else local_date(row.due_at)
    return max(0, calendar.working_days_between(local_midnight(day), _judged_at(row, now)))


def _item(row: Deadline, now: datetime, calendar: WorkingDayCalendar) -> DeadlineItem:
    return DeadlineItem(
        case_id=row.case_id,
        organisation=row.organisation,
        workflow=row.workflow,
        kind=row.kind,
        cycle=row.cycle,
        status=row.status,
        owner=row.owner,
        due_date=row.due_date,
        due_at=row.due_at,
        tiers_fired=row.tier,
        overdue=_is_overdue(row, now),
        days_overdue=_days_overdue(row, now, calendar),
    )


# -- The oversight summary -------------------------------------------------------------------

# The family of the learning-response lifecycles (psirf-rules §2).
_LEARNING: Final = "learning_response"
# The family of the intake lifecycle, whose decisions record overrides and departures.
_INTAKE: Final = "intake"
# The state a learning response ends in once shared (psirf-rules §9.1).
_CLOSED: Final = "closed"
# The workflow of a safety action and the state of one completed (psirf-rules §9.2).
_SAFETY_ACTION: Final = "safety_action"
_COMPLETED: Final = "closed_effective"
_PAGE: Final = 500


@attrs.frozen(kw_only=True)
class StateCount:
    """How many open cases of one workflow stand in one state.

    Attributes:
        lifecycle: The workflow's family (``"learning_response"``, ``"safety_action"``, ...).
        workflow: The workflow's name.
        state: The state.
        cases: How many of the organisation's open cases are in it.
    """

    lifecycle: str
    workflow: str
    state: str
    cases: int


@attrs.frozen(kw_only=True)
class ReserveUse:
    """The plan's reserve PSII capacity in the period holding the summary's last day.

    Counted by [`reserve_capacity_use`][psirf_flow.oversight.reserve_capacity_use]; reported,
    never enforced (psirf-rules §0.5 rule 1).

    Attributes:
        start: The reserve period's first day (Europe/London).
        end: The day after its last day.
        allowed: The extra PSIIs the plan holds for the period.
        used: Draws recorded in it.
        remaining: ``allowed - used`` (negative when overdrawn).
    """

    start: date
    end: date
    allowed: int
    used: int
    remaining: int


@attrs.frozen(kw_only=True)
class OversightSummary:
    """What a board or oversight committee asks each month, for one organisation.

    Counts only: no case ids, names or free text, so the summary can go to a committee
    with patient safety partners as it is.

    Attributes:
        organisation: The organisation.
        open_cases: Its cases not in a final state, by lifecycle, workflow and state.
        responses_commissioned: Learning responses opened in the period.
        responses_closed: Learning responses now closed whose last closing fell in the
            period (as `psirf_flow.lessons.closed_responses` lists them).
        overdue: Running deadlines past due (as [`overdue`][psirf_flow.reports.overdue]).
        due_soon: Open deadlines falling due soon (as [`due_soon`][psirf_flow.reports.due_soon]).
        candour: Duty-of-candour timeliness per step for deadlines due in the period.
        safety_actions_open: Safety actions not in a final state.
        safety_actions_overdue: Safety actions whose due date has passed while running.
        safety_actions_completed: Safety actions confirmed effective in the period.
        national_overrides: National requirements overridden in the period
            ([`overridden_national_requirements`][psirf_flow.oversight.overridden_national_requirements]).
        plan_departures: Responses decided outside the plan in the period
            ([`plan_departures`][psirf_flow.oversight.plan_departures]).
        reserve: The plan's reserve capacity, when the engine's plan is this organisation's.
    """

    organisation: str
    open_cases: tuple[StateCount, ...]
    responses_commissioned: int
    responses_closed: int
    overdue: int
    due_soon: int
    candour: tuple[CandourTimeliness, ...]
    safety_actions_open: int
    safety_actions_overdue: int
    safety_actions_completed: int
    national_overrides: int
    plan_departures: int
    reserve: ReserveUse | None


Progress = Callable[[int, int], None]
"""Told how far a summary has got: audit trails read so far, and how many in all."""


def oversight_summary(
    engine: Engine,
    *,
    reader: Reader,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    within: timedelta | int = 5,
    organisation: str | Iterable[str] | None = None,
    progress: Progress | None = None,
) -> tuple[OversightSummary, ...]:
    """The oversight summary of each organisation the reader sees, for one period.

    Cases are listed page by page through the engine's access rules; the audit trails of
    the cases whose dates matter to the period (closed learning responses, completed
    safety actions, intakes touched since the period or the reserve period began) are
    read, each once; the deadline figures come from the queries above.

    Args:
        engine: The engine whose store is read.
        reader: Who reads; only organisations they may see are summarised.
        since: The period's start (aware; included).
        until: The period's end (aware; excluded).
        now: The instant overdue and due soon are judged at (the engine's clock by default).
        within: Due soon: real time, or a number of working days (as for
            [`due_soon`][psirf_flow.reports.due_soon]).
        organisation: Only this organisation, or these organisations (each one named gets
            a summary, even with nothing to count).
        progress: Called with ``(done, total)`` after each audit trail is read (and once
            with ``(0, total)`` before the first), for a progress bar.

    Returns:
        One summary per organisation, by organisation code.

    Raises:
        InvalidInput: If an argument has the wrong type or shape (or ``until`` is not after
            ``since``), naming it.
    """
    _engine(engine)
    reader = _inputs.reader(reader)
    since = _inputs.moment("since", since)
    until = _inputs.moment("until", until)
    if until <= since:
        raise InvalidInput("until", "must be after since")
    now = engine.clock.now() if now is None else _inputs.moment("now", now)
    codes = _inputs.organisations(organisation)
    if progress is not None and not callable(progress):
        raise InvalidInput("progress", f"must be callable, got {type(progress).__name__}")
    if isinstance(within, timedelta):
        _period(within)
    else:
        _whole("within", within, most=_MOST_DAYS)
    plan = None if engine.plan_book is None else engine.plan_book.current.plan
    period = _Period(since=since, until=until, last_day=local_date(until - _INSTANT))
    if plan is not None and period.last_day >= plan.plan.effective_from:
        period.reserve_from = reserve_capacity_use((), plan, on=period.last_day)[-1].start
    tally: dict[str, _Tally] = {code: _Tally() for code in codes or ()}
    to_read = _count_cases(engine, reader, codes, period, tally)
    draws = _read_trails(
        engine, reader, to_read=to_read, period=period, tally=tally, progress=progress
    )
    for row in overdue(engine, reader=reader, now=now, organisation=codes):
        counts = tally.setdefault(row.organisation, _Tally())
        counts.overdue += 1
        if row.kind == SAFETY_ACTION_KIND:
            counts.actions_overdue.add(row.case_id)
    for row in due_soon(engine, reader=reader, now=now, within=within, organisation=codes):
        tally.setdefault(row.organisation, _Tally()).due_soon += 1
    candour: dict[str, list[CandourTimeliness]] = {}
    for line in candour_timeliness(
        engine, reader=reader, since=since, until=until, now=now, organisation=codes
    ):
        tally.setdefault(line.organisation, _Tally())
        candour.setdefault(line.organisation, []).append(line)
    return tuple(
        counts.summary(
            code,
            candour=tuple(candour.get(code, ())),
            reserve=_reserve(plan, code, draws.get(code, ()), period.last_day),
        )
        for code, counts in sorted(tally.items())
    )


_INSTANT: Final = timedelta(microseconds=1)


@attrs.define
class _Period:
    """A summary's period: its bounds, last local day and the reserve period's start."""

    since: datetime
    until: datetime
    last_day: date
    reserve_from: date | None = None


def _count_cases(
    engine: Engine,
    reader: Reader,
    codes: frozenset[str] | None,
    period: _Period,
    tally: dict[str, _Tally],
) -> list[tuple[Case, str]]:
    """Count each listed case; return those whose audit trail the period needs read."""
    to_read: list[tuple[Case, str]] = []
    for case in _listed(engine, reader, codes):
        definition = engine.definition_for(case)
        counts = tally.setdefault(case.organisation, _Tally())
        if case.state not in definition.final_states:
            key = (definition.family, case.workflow, case.state)
            counts.states[key] = counts.states.get(key, 0) + 1
            counts.actions_open += case.workflow == _SAFETY_ACTION
        if definition.family == _LEARNING:
            counts.commissioned += period.since <= case.opened_at < period.until
            if case.state == _CLOSED and case.updated_at >= period.since:
                to_read.append((case, _LEARNING))
        elif case.workflow == _SAFETY_ACTION:
            if case.state == _COMPLETED and case.updated_at >= period.since:
                to_read.append((case, _SAFETY_ACTION))
        elif definition.family == _INTAKE and _touched_since(case, period):
            to_read.append((case, _INTAKE))
    return to_read


def _read_trails(
    engine: Engine,
    reader: Reader,
    *,
    to_read: Sequence[tuple[Case, str]],
    period: _Period,
    tally: dict[str, _Tally],
    progress: Progress | None,
) -> dict[str, list[AuditEntry]]:
    """Count what the trails record in the period; return each organisation's intake entries."""
    draws: dict[str, list[AuditEntry]] = {}
    if progress is not None:
        progress(0, len(to_read))
    for done, (case, kind) in enumerate(to_read, start=1):
        # Each case was listed through the engine's access rules for this reader: its trail
        # is read from the store directly, one query per trail instead of two (the engine's
        # history would load the case again to check what the listing already checked).
        if not engine.may_read(case, reader):  # pragma: no cover - the listing checked it
            continue
        entries = engine.store.history(case.id)
        counts = tally[case.organisation]
        if kind == _LEARNING:
            counts.closed += _last_entered(entries, _CLOSED, period)
        elif kind == _SAFETY_ACTION:
            counts.actions_completed += _last_entered(entries, _COMPLETED, period)
        else:
            in_period = [e for e in entries if period.since <= e.recorded_at < period.until]
            counts.overrides += len(overridden_national_requirements(in_period))
            counts.departures += len(plan_departures(in_period))
            draws.setdefault(case.organisation, []).extend(entries)
        if progress is not None:
            progress(done, len(to_read))
    return draws


@attrs.define
class _Tally:
    """One organisation's counts while a summary is gathered."""

    states: dict[tuple[str, str, str], int] = attrs.Factory(dict)
    commissioned: int = 0
    closed: int = 0
    overdue: int = 0
    due_soon: int = 0
    actions_open: int = 0
    actions_overdue: set[str] = attrs.Factory(set)
    actions_completed: int = 0
    overrides: int = 0
    departures: int = 0

    def summary(
        self,
        organisation: str,
        *,
        candour: tuple[CandourTimeliness, ...],
        reserve: ReserveUse | None,
    ) -> OversightSummary:
        """The frozen summary of these counts."""
        return OversightSummary(
            organisation=organisation,
            open_cases=tuple(
                StateCount(lifecycle=family, workflow=workflow, state=state, cases=cases)
                for (family, workflow, state), cases in sorted(self.states.items())
            ),
            responses_commissioned=self.commissioned,
            responses_closed=self.closed,
            overdue=self.overdue,
            due_soon=self.due_soon,
            candour=candour,
            safety_actions_open=self.actions_open,
            safety_actions_overdue=len(self.actions_overdue),
            safety_actions_completed=self.actions_completed,
            national_overrides=self.overrides,
            plan_departures=self.departures,
            reserve=reserve,
        )


def _listed(engine: Engine, reader: Reader, codes: frozenset[str] | None) -> Iterator[Case]:
    """Every case the reader sees (in ``codes``), page by page, at most MOST_ROWS."""
    query = CaseQuery(organisations=codes, limit=_PAGE)
    read = 0
    while read < MOST_ROWS:
        page = engine.list_cases(query, reader=reader)
        yield from page.items[: MOST_ROWS - read]
        read += len(page.items)
        if page.next_after is None:
            return
        query = attrs.evolve(query, after=page.next_after)


def _touched_since(case: Case, period: _Period) -> bool:
    """Whether an intake took a step since the period (or the reserve period) began."""
    if case.updated_at >= period.since:
        return True
    return period.reserve_from is not None and local_date(case.updated_at) >= period.reserve_from


def _last_entered(entries: Sequence[AuditEntry], state: str, period: _Period) -> int:
    """1 if the step that last moved a case into ``state`` fell in the period, else 0."""
    for entry in reversed(entries):
        if entry.to_state == state and entry.from_state != state:
            return int(period.since <= entry.recorded_at < period.until)
    return 0


def _reserve(
    plan: Plan | None, organisation: str, entries: Sequence[AuditEntry], last_day: date
) -> ReserveUse | None:
    if plan is None or plan.plan.organisation != organisation:
        return None
    if last_day < plan.plan.effective_from:
        return None
    use = reserve_capacity_use(entries, plan, on=last_day)[-1]
    return ReserveUse(
        start=use.start, end=use.end, allowed=use.allowed, used=use.used, remaining=use.remaining
    )
