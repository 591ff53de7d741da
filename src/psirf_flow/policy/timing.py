"""The counting rules every psirf_flow clock follows, as pure functions.

These are the rules a deadline, a warning and an escalation tier are computed by. Instants
are stored as aware UTC; **every day-based rule uses the Europe/London local date** of the
event that starts it ([`UK_TIME`][psirf_flow.policy.calendars.UK_TIME]), so a lead appointed at
00:30 BST on a Monday starts the clock on that Monday, not on the Sunday its UTC date names.

* **N working days from event E**: day 0 is E's local date, working day or not; the due
  date is the Nth working day strictly after day 0 (Monday to Friday, not a bank holiday of
  the plan's region, not one of the trust's closure days). The deadline is met by an action
  recorded at any time on or before the due date and breached at 00:00 local on the day
  after ([`breach_instant`][psirf_flow.policy.timing.breach_instant]).
* **N calendar days or weeks**: the local date N days (7N) after day 0; breached at 00:00
  local on the day after.
* **N months** (a PSII's target and hard cap): the same day of the month N months later,
  the last day of that month when the day does not exist, then the next working day when
  that date is not one ([`months_due`][psirf_flow.policy.timing.months_due]).
* **N hours** (swarm huddle, hot debrief, triage review): real elapsed time, whatever the
  clock change; the deadline is breached at that instant.
* **A warning W working days before due date D** fires at 00:00 local on the Wth working
  day strictly before D; **a later tier K working days after D** fires at 00:00 local on
  the Kth working day strictly after D
  ([`offset_instant`][psirf_flow.policy.timing.offset_instant]). A tier of zero working days after
  fires at the breach.
* **Retention review**: the same calendar date N years after the incident date (29 February
  becomes 28 February in a year without it).

Sources: psirf-rules §4 (timescales: PSII one to three months, six-month cap, both NAT-G ✖
and so plan settings; the duty of candour's working-day target is LOCAL, §4.2) and the
counting rules of issue 10, which this module applies exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import attrs

from psirf_flow.policy.calendars import UK_TIME, Timescale, TimeUnit, WorkingDayCalendar, add_months


__all__ = [
    "Due",
    "breach_instant",
    "due",
    "due_on",
    "local_date",
    "local_midnight",
    "months_due",
    "offset_instant",
    "retention_review_date",
    "working_days_after",
    "working_days_before",
]


def _aware(moment: object, name: str) -> datetime:
    """``moment`` if it is an aware datetime; otherwise a ``ValueError`` naming ``name``."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        msg = f"{name} must be an aware datetime (one with a time zone)"
        raise ValueError(msg)
    return moment


def _day(day: object, name: str) -> date:
    """``day`` if it is a date (not a datetime); otherwise a ``ValueError`` naming ``name``."""
    if not isinstance(day, date) or isinstance(day, datetime):
        msg = f"{name} must be a date (a datetime is converted with local_date first)"
        raise ValueError(msg)
    return day


def _count(n: object, name: str) -> int:
    """``n`` if it is a whole number of zero or more; otherwise a ``ValueError`` naming ``name``."""
    if not isinstance(n, int) or isinstance(n, bool):
        msg = f"{name} must be a whole number"
        raise ValueError(msg)
    if n < 0:
        msg = f"{name} cannot be negative"
        raise ValueError(msg)
    return n


def _calendar(calendar: object) -> WorkingDayCalendar:
    if not isinstance(calendar, WorkingDayCalendar):
        msg = "calendar must be a WorkingDayCalendar"
        raise ValueError(msg)
    return calendar


def _timescale(timescale: object, name: str) -> Timescale:
    if not isinstance(timescale, Timescale) or not isinstance(timescale.unit, TimeUnit):
        msg = f"{name} must be a Timescale"
        raise ValueError(msg)
    _count(timescale.amount, f"{name}.amount")
    return timescale


def local_date(moment: datetime) -> date:
    """The Europe/London calendar date of an aware instant.

    Raises:
        ValueError: If ``moment`` is not an aware datetime.
    """
    return _aware(moment, "moment").astimezone(UK_TIME).date()


def local_midnight(day: date) -> datetime:
    """00:00 Europe/London on ``day``, as an aware UTC instant.

    Raises:
        ValueError: If ``day`` is not a date.
    """
    return datetime.combine(_day(day, "day"), time(0), tzinfo=UK_TIME).astimezone(UTC)


def breach_instant(due_date: date) -> datetime:
    """When a deadline due on ``due_date`` is breached: 00:00 local on the day after (UTC).

    Raises:
        ValueError: If ``due_date`` is not a date.
    """
    return local_midnight(_day(due_date, "due_date") + timedelta(days=1))


def working_days_after(day: date, n: int, calendar: WorkingDayCalendar) -> date:
    """The ``n``th working day strictly after ``day`` (``day`` itself for ``n == 0``).

    Raises:
        ValueError: If ``day`` is not a date, ``n`` is negative or not a whole number, or
            ``calendar`` is not a
            [`WorkingDayCalendar`][psirf_flow.policy.calendars.WorkingDayCalendar].
    """
    day = _day(day, "day")
    _calendar(calendar)
    for _ in range(_count(n, "n")):
        day = calendar.next_working_day(day)
    return day


def working_days_before(day: date, n: int, calendar: WorkingDayCalendar) -> date:
    """The ``n``th working day strictly before ``day`` (``day`` itself for ``n == 0``).

    Raises:
        ValueError: If ``day`` is not a date, ``n`` is negative or not a whole number, or
            ``calendar`` is not a
            [`WorkingDayCalendar`][psirf_flow.policy.calendars.WorkingDayCalendar].
    """
    day = _day(day, "day")
    _calendar(calendar)
    for _ in range(_count(n, "n")):
        day -= timedelta(days=1)
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
    return day


def months_due(start: date, n: int, calendar: WorkingDayCalendar) -> date:
    """The due date ``n`` months after ``start``, rolled forward to a working day.

    The same day of the month ``n`` months later (that month's last day if the day does
    not exist), then the next working day if that date is not one (issue 10's month rule;
    the PSII's one-to-three-month target and six-month cap are plan settings, psirf-rules
    §4.1).

    Examples:
        ```python
        from datetime import date
        from psirf_flow.policy.calendars import WorkingDayCalendar
        from psirf_flow.policy.timing import months_due
        months_due(date(2026, 3, 14), 3, WorkingDayCalendar())  # date(2026, 6, 15), a Monday
        ```

    Raises:
        ValueError: If ``start`` is not a date, ``n`` is negative or not a whole number,
            or ``calendar`` is not a
            [`WorkingDayCalendar`][psirf_flow.policy.calendars.WorkingDayCalendar].
    """
    day = add_months(_day(start, "start"), _count(n, "n"))
    return day if _calendar(calendar).is_working_day(day) else calendar.next_working_day(day)


def retention_review_date(incident_date: date, years: int) -> date:
    """The same calendar date ``years`` after the incident (28 February for 29 February).

    The Records Management Code counts retention from the date of the incident
    (psirf-rules §4.5); no working-day roll-forward applies.

    Raises:
        ValueError: If ``incident_date`` is not a date or ``years`` is negative or not a
            whole number.
    """
    return add_months(_day(incident_date, "incident_date"), 12 * _count(years, "years"))


@attrs.frozen
class Due:
    """When something is due.

    Attributes:
        due_date: The Europe/London date it is due on, for day-based rules (``None`` for
            hours).
        breach_at: The instant it is breached (aware UTC): 00:00 local on the day after
            ``due_date``, or the exact instant for hours.
    """

    due_date: date | None
    breach_at: datetime


def due(start: datetime, timescale: Timescale, calendar: WorkingDayCalendar) -> Due:
    """When ``timescale`` counted from the event at ``start`` falls due (see the module rules).

    Args:
        start: The starting event's instant (aware, in any time zone).
        timescale: How long: hours, calendar days, weeks, working days or months.
        calendar: The plan's working-day calendar.

    Returns:
        The due date (Europe/London; ``None`` for hours) and the breach instant (UTC).

    Raises:
        ValueError: If ``start`` is not an aware datetime, ``timescale`` is not a
            [`Timescale`][psirf_flow.policy.calendars.Timescale] with a whole amount of zero or
            more, or ``calendar`` is not a
            [`WorkingDayCalendar`][psirf_flow.policy.calendars.WorkingDayCalendar]; the message
            names the argument.
    """
    _aware(start, "start")
    _timescale(timescale, "timescale")
    _calendar(calendar)
    n = timescale.amount
    if timescale.unit is TimeUnit.HOURS:
        # Real elapsed time: add to the UTC instant, never to a local wall clock.
        return Due(None, start.astimezone(UTC) + timedelta(hours=n))
    day0 = local_date(start)
    if timescale.unit is TimeUnit.WORKING_DAYS:
        day = working_days_after(day0, n, calendar)
    elif timescale.unit is TimeUnit.MONTHS:
        day = months_due(day0, n, calendar)
    else:
        day = day0 + timedelta(days=n * (7 if timescale.unit is TimeUnit.WEEKS else 1))
    return Due(day, breach_instant(day))


def due_on(day: date) -> Due:
    """A deadline due on a given local date (an agreed target date, a safety action's date).

    Raises:
        ValueError: If ``day`` is not a date.
    """
    return Due(_day(day, "day"), breach_instant(day))


def _due_record(deadline: object) -> Due:
    if not isinstance(deadline, Due):
        msg = "deadline must be a Due"
        raise ValueError(msg)
    return deadline


def offset_instant(
    deadline: Due, offset: Timescale, calendar: WorkingDayCalendar, *, before: bool
) -> datetime:
    """When a warning (``before``) or a later tier (after) of ``deadline`` fires (aware UTC).

    Working days: 00:00 local on the Wth working day strictly before the due date, or the
    Kth strictly after it. Calendar days and weeks: 00:00 local that many days before or
    after the due date. Months: 00:00 local on the same day of the month (the month's last
    day when it has no such day). Hours: that many real hours before or after the breach
    instant. A zero offset after is the breach itself (and a zero offset before is 00:00 on
    the due date); a deadline counted in hours has its due date taken as the local date of
    its breach.

    Raises:
        ValueError: If ``deadline`` is not a [`Due`][psirf_flow.policy.timing.Due] with an aware
            ``breach_at``, ``offset`` is not a [`Timescale`][psirf_flow.policy.calendars.Timescale]
            with a whole amount of zero or more, or ``calendar`` is not a
            [`WorkingDayCalendar`][psirf_flow.policy.calendars.WorkingDayCalendar]; the message
            names the argument.
    """
    breach_at = _aware(_due_record(deadline).breach_at, "deadline.breach_at").astimezone(UTC)
    _timescale(offset, "offset")
    _calendar(calendar)
    n = offset.amount
    if offset.unit is TimeUnit.HOURS:
        shift = timedelta(hours=n)
        return breach_at - shift if before else breach_at + shift
    if n == 0 and not before:
        return breach_at
    day = deadline.due_date if deadline.due_date is not None else local_date(breach_at)
    if offset.unit is TimeUnit.WORKING_DAYS:
        target = (
            working_days_before(day, n, calendar)
            if before
            else working_days_after(day, n, calendar)
        )
    elif offset.unit is TimeUnit.MONTHS:
        target = add_months(day, -n if before else n)
    else:
        days = n * (7 if offset.unit is TimeUnit.WEEKS else 1)
        target = day - timedelta(days=days) if before else day + timedelta(days=days)
    return local_midnight(target)
