"""The counting rules of ``policy.timing`` over the real 2026 and 2027 UK calendars.

Every expected date below was worked out by hand from the England and Wales bank holidays
(checked against the ``holidays`` package in :func:`test_england_and_wales_bank_holidays`):
New Year Thu 1 Jan 2026, Good Friday 3 Apr, Easter Monday 6 Apr, early May 4 May, spring
25 May, summer 31 Aug, Christmas Fri 25 Dec, Boxing Day Sat 26 Dec with its substitute Mon
28 Dec 2026; New Year Fri 1 Jan 2027, Good Friday 26 Mar, Easter Monday 29 Mar, 3 May,
31 May, 30 Aug, Christmas Sat 25 Dec and Boxing Day Sun 26 Dec with substitutes Mon 27 and
Tue 28 Dec 2027. British Summer Time runs from Sun 29 Mar to Sun 25 Oct 2026 and from Sun
28 Mar to Sun 31 Oct 2027. UTC instants are asserted so the local-midnight rule is visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.policy.calendars import (
    UK_TIME,
    Region,
    Timescale,
    TimeUnit,
    WorkingDayCalendar,
    add_months,
)
from psirf_flow.policy.timing import (
    Due,
    breach_instant,
    due,
    due_on,
    local_date,
    local_midnight,
    months_due,
    offset_instant,
    retention_review_date,
    working_days_after,
    working_days_before,
)


ENG = WorkingDayCalendar(Region.ENGLAND_AND_WALES)
SCT = WorkingDayCalendar(Region.SCOTLAND)
NIR = WorkingDayCalendar(Region.NORTHERN_IRELAND)
NEW_YORK = ZoneInfo("America/New_York")

WD = TimeUnit.WORKING_DAYS
MONTHS = TimeUnit.MONTHS
HOURS = TimeUnit.HOURS
DAYS = TimeUnit.CALENDAR_DAYS
WEEKS = TimeUnit.WEEKS


def uk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A Europe/London wall-clock instant."""
    return datetime(y, m, d, hh, mm, tzinfo=UK_TIME)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# --- the calendar the tables rely on ------------------------------------------------------

ENG_HOLIDAYS = [
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 8, 31),
    date(2026, 12, 25),
    date(2026, 12, 26),
    date(2026, 12, 28),
    date(2027, 1, 1),
    date(2027, 3, 26),
    date(2027, 3, 29),
    date(2027, 5, 3),
    date(2027, 5, 31),
    date(2027, 8, 30),
    date(2027, 12, 25),
    date(2027, 12, 26),
    date(2027, 12, 27),
    date(2027, 12, 28),
]


def test_england_and_wales_bank_holidays() -> None:
    """The England and Wales calendar has exactly the 2026-27 bank holidays typed out above."""
    found = [
        date(2026, 1, 1) + timedelta(days=i)
        for i in range(730)
        if ENG.bank_holiday(date(2026, 1, 1) + timedelta(days=i)) is not None
    ]
    assert found == ENG_HOLIDAYS


# --- local dates and midnights -----------------------------------------------------------

LOCAL_DATE_ROWS = [
    # (instant, Europe/London date)
    (utc(2026, 6, 7, 23, 30), date(2026, 6, 8)),  # 00:30 BST Monday
    (utc(2026, 6, 7, 22, 59), date(2026, 6, 7)),  # 23:59 BST Sunday
    (utc(2026, 12, 23, 23, 30), date(2026, 12, 23)),  # 23:30 GMT, same date
    (utc(2026, 3, 28, 23, 59), date(2026, 3, 28)),  # last GMT minute before BST starts
    (utc(2026, 10, 24, 23, 0), date(2026, 10, 25)),  # 00:00 BST on the day BST ends
    (datetime(2026, 6, 7, 19, 30, tzinfo=NEW_YORK), date(2026, 6, 8)),  # other zones too
]


@pytest.mark.parametrize(("instant", "expected"), LOCAL_DATE_ROWS)
def test_local_date_is_the_europe_london_date(instant: datetime, expected: date) -> None:
    """A day rule's date is the Europe/London date of the instant, whatever its zone."""
    assert local_date(instant) == expected


MIDNIGHT_ROWS = [
    (date(2027, 1, 12), utc(2027, 1, 12)),  # GMT
    (date(2026, 6, 9), utc(2026, 6, 8, 23)),  # BST
    (date(2026, 3, 29), utc(2026, 3, 29)),  # BST starts at 01:00 GMT, after midnight
    (date(2026, 3, 30), utc(2026, 3, 29, 23)),  # the first BST midnight
    (date(2026, 10, 25), utc(2026, 10, 24, 23)),  # BST ends at 02:00 BST, after midnight
    (date(2026, 10, 26), utc(2026, 10, 26)),  # the first GMT midnight
]


@pytest.mark.parametrize(("day", "expected"), MIDNIGHT_ROWS)
def test_local_midnight_in_utc(day: date, expected: datetime) -> None:
    """00:00 Europe/London is 00:00 UTC in winter and 23:00 UTC the day before in summer."""
    got = local_midnight(day)
    assert got == expected
    assert got.tzinfo is UTC
    assert breach_instant(day - timedelta(days=1)) == expected


# --- working days ------------------------------------------------------------------------

#: (start instant, N, calendar, due date, breach instant in UTC)
WORKING_DAY_ROWS = [
    # The duty of candour example: aware Wed 23 Dec 2026, 10 working days.
    (uk(2026, 12, 23, 10), 10, ENG, date(2027, 1, 11), utc(2027, 1, 12)),
    (uk(2026, 12, 23, 23, 59), 10, ENG, date(2027, 1, 11), utc(2027, 1, 12)),
    # Easter 2026 straddling the start of BST: Fri 27 Mar GMT, 5 -> Tue 7 Apr BST.
    (uk(2026, 3, 27, 9), 5, ENG, date(2026, 4, 7), utc(2026, 4, 7, 23)),
    (uk(2026, 4, 2, 9), 1, ENG, date(2026, 4, 7), utc(2026, 4, 7, 23)),
    (uk(2027, 3, 25, 9), 2, ENG, date(2027, 3, 31), utc(2027, 3, 31, 23)),
    # May, spring and August bank holidays (Mondays): Friday plus one is Tuesday.
    (uk(2026, 5, 1, 9), 1, ENG, date(2026, 5, 5), utc(2026, 5, 5, 23)),
    (uk(2026, 5, 22, 9), 1, ENG, date(2026, 5, 26), utc(2026, 5, 26, 23)),
    (uk(2026, 8, 28, 9), 1, ENG, date(2026, 9, 1), utc(2026, 9, 1, 23)),
    (uk(2027, 4, 30, 9), 1, ENG, date(2027, 5, 4), utc(2027, 5, 4, 23)),
    (uk(2027, 5, 28, 9), 1, ENG, date(2027, 6, 1), utc(2027, 6, 1, 23)),
    (uk(2027, 8, 27, 9), 1, ENG, date(2027, 8, 31), utc(2027, 8, 31, 23)),
    # Christmas 2027: Sat and Sun holidays, substitutes Mon 27 and Tue 28.
    (uk(2027, 12, 24, 9), 1, ENG, date(2027, 12, 29), utc(2027, 12, 30)),
    # New Year: 2 Jan is a working day in England and Wales, a holiday in Scotland.
    (uk(2025, 12, 31, 9), 1, ENG, date(2026, 1, 2), utc(2026, 1, 3)),
    (uk(2025, 12, 31, 9), 1, SCT, date(2026, 1, 5), utc(2026, 1, 6)),
    (uk(2026, 12, 31, 9), 1, ENG, date(2027, 1, 4), utc(2027, 1, 5)),
    (uk(2026, 12, 31, 9), 1, SCT, date(2027, 1, 5), utc(2027, 1, 6)),
    # Day 0 need not be a working day: Boxing Day Saturday, 1 -> Tue 29 Dec 2026.
    (uk(2026, 12, 26, 9), 1, ENG, date(2026, 12, 29), utc(2026, 12, 30)),
    (uk(2026, 12, 27, 9), 0, ENG, date(2026, 12, 27), utc(2026, 12, 28)),
    # 00:30 BST on a Saturday is Friday in UTC; the count starts from the Saturday.
    (utc(2026, 6, 5, 23, 30), 1, ENG, date(2026, 6, 8), utc(2026, 6, 8, 23)),
    # A trust closure day is not a working day: the candour example moves a day.
    (
        uk(2026, 12, 23, 10),
        10,
        WorkingDayCalendar(Region.ENGLAND_AND_WALES, frozenset({date(2026, 12, 29)})),
        date(2027, 1, 12),
        utc(2027, 1, 13),
    ),
]


@pytest.mark.parametrize(("start", "n", "calendar", "due_date", "breach"), WORKING_DAY_ROWS)
def test_working_days_due_and_breach(
    start: datetime, n: int, calendar: WorkingDayCalendar, due_date: date, breach: datetime
) -> None:
    """N working days: the Nth working day after day 0, breached at 00:00 local the day after."""
    got = due(start, Timescale(n, WD), calendar)
    assert got == Due(due_date, breach)
    assert got.breach_at.tzinfo is UTC
    assert working_days_after(local_date(start), n, calendar) == due_date


def test_candour_example_met_until_midnight_then_breached() -> None:
    """Candour aware Wed 23 Dec 2026 + 10 working days: met 23:59 Mon 11 Jan, breached at 00:00."""
    got = due(uk(2026, 12, 23, 15, 45), Timescale(10, WD), ENG)
    assert got.due_date == date(2027, 1, 11)
    assert got.due_date.strftime("%A") == "Monday"
    assert got.breach_at == utc(2027, 1, 12, 0, 0)
    assert got.breach_at.astimezone(UK_TIME).strftime("%A %H:%M %Z") == "Tuesday 00:00 GMT"
    last_minute = uk(2027, 1, 11, 23, 59)
    assert local_date(last_minute) <= got.due_date
    assert last_minute < got.breach_at
    assert not uk(2027, 1, 12, 0, 0) < got.breach_at


#: Days that are bank holidays elsewhere in the UK but working days in England and Wales.
OTHER_REGION_HOLIDAYS = [
    (date(2026, 1, 2), SCT),  # 2 January
    (date(2027, 1, 4), SCT),  # 2 January 2027 (a Saturday), substitute Monday
    (date(2026, 8, 3), SCT),  # first Monday of August
    (date(2027, 8, 2), SCT),
    (date(2026, 11, 30), SCT),  # St Andrew's Day
    (date(2026, 3, 17), NIR),  # St Patrick's Day
    (date(2027, 3, 17), NIR),
    (date(2026, 7, 13), NIR),  # Battle of the Boyne: Sun 12 Jul 2026, substitute Monday
    (date(2027, 7, 12), NIR),  # Battle of the Boyne: Mon 12 Jul 2027
]


@pytest.mark.parametrize(("day", "region_calendar"), OTHER_REGION_HOLIDAYS)
def test_other_uk_holidays_are_england_and_wales_working_days(
    day: date, region_calendar: WorkingDayCalendar
) -> None:
    """A Scottish or Northern Irish bank holiday counts as a working day in England and Wales."""
    assert region_calendar.bank_holiday(day) is not None
    assert ENG.is_working_day(day)
    before = day - timedelta(days=1)
    while not ENG.is_working_day(before):
        before -= timedelta(days=1)
    assert due(uk(before.year, before.month, before.day, 9), Timescale(1, WD), ENG) == due_on(day)
    assert due(uk(before.year, before.month, before.day, 9), Timescale(1, WD), region_calendar) != (
        due_on(day)
    )


def test_closure_day_is_not_a_working_day() -> None:
    """A trust closure day is skipped like a bank holiday, in counts forward and back."""
    closed = WorkingDayCalendar(Region.ENGLAND_AND_WALES, frozenset({date(2026, 6, 10)}))
    assert working_days_after(date(2026, 6, 9), 1, closed) == date(2026, 6, 11)
    assert working_days_before(date(2026, 6, 11), 1, closed) == date(2026, 6, 9)
    assert working_days_after(date(2026, 6, 9), 1, ENG) == date(2026, 6, 10)


# --- months ------------------------------------------------------------------------------

#: (start date, N months, calendar, due date)
MONTH_ROWS = [
    (date(2026, 3, 16), 3, ENG, date(2026, 6, 16)),  # not the 90-day Sun 14 Jun
    (date(2026, 3, 14), 3, ENG, date(2026, 6, 15)),  # Sun 14 Jun -> Mon
    (date(2026, 3, 13), 3, ENG, date(2026, 6, 15)),  # Sat 13 Jun -> Mon
    (date(2026, 2, 25), 3, ENG, date(2026, 5, 26)),  # Mon 25 May bank holiday -> Tue
    (date(2026, 5, 31), 3, ENG, date(2026, 9, 1)),  # Mon 31 Aug bank holiday -> Tue 1 Sep
    (date(2027, 6, 30), 2, ENG, date(2027, 8, 31)),  # Mon 30 Aug 2027 -> Tue
    (date(2027, 1, 31), 4, ENG, date(2027, 6, 1)),  # Mon 31 May 2027 -> Tue 1 Jun
    (date(2026, 1, 3), 3, ENG, date(2026, 4, 7)),  # Good Friday, then Easter Monday
    (date(2026, 9, 25), 3, ENG, date(2026, 12, 29)),  # Christmas, substitute Boxing Day
    (date(2027, 9, 24), 3, ENG, date(2027, 12, 24)),  # Fri 24 Dec 2027 is a working day
    (date(2027, 9, 27), 3, ENG, date(2027, 12, 29)),  # Mon 27, Tue 28 substitutes
    (date(2026, 3, 31), 1, ENG, date(2026, 4, 30)),  # 31st -> 30 Apr (a Thursday)
    (date(2026, 1, 31), 1, ENG, date(2026, 3, 2)),  # 28 Feb 2026 is a Saturday
    (date(2026, 8, 31), 6, ENG, date(2027, 3, 1)),  # 28 Feb 2027 is a Sunday
    (date(2026, 12, 31), 2, ENG, date(2027, 3, 1)),
    (date(2027, 11, 30), 3, ENG, date(2028, 2, 29)),  # a leap year keeps the 29th
    (date(2026, 10, 31), 1, ENG, date(2026, 11, 30)),  # St Andrew's Day: works in E&W
    (date(2026, 10, 31), 1, SCT, date(2026, 12, 1)),  # ... not in Scotland
    (date(2026, 6, 8), 6, ENG, date(2026, 12, 8)),  # a six-month cap
    (date(2026, 6, 8), 0, ENG, date(2026, 6, 8)),
    (date(2026, 6, 7), 0, ENG, date(2026, 6, 8)),  # zero months still rolls forward
]


@pytest.mark.parametrize(("start", "n", "calendar", "expected"), MONTH_ROWS)
def test_months_same_day_then_last_day_then_roll_forward(
    start: date, n: int, calendar: WorkingDayCalendar, expected: date
) -> None:
    """N months: the same day N months on, else the month's last day, then the next working day."""
    assert months_due(start, n, calendar) == expected
    got = due(uk(start.year, start.month, start.day, 12), Timescale(n, MONTHS), calendar)
    assert got == Due(expected, local_midnight(expected + timedelta(days=1)))


def test_psii_lead_appointed_0030_bst_monday_starts_that_monday() -> None:
    """A lead appointed 00:30 BST Mon 8 Jun 2026 (Sun 23:30 UTC) starts the clock on the Monday."""
    appointed = utc(2026, 6, 7, 23, 30)
    assert appointed.astimezone(UK_TIME) == uk(2026, 6, 8, 0, 30)
    assert local_date(appointed) == date(2026, 6, 8)
    target = due(appointed, Timescale(3, MONTHS), ENG)
    assert target == Due(date(2026, 9, 8), utc(2026, 9, 8, 23))
    cap = due(appointed, Timescale(6, MONTHS), ENG)
    assert cap == Due(date(2026, 12, 8), utc(2026, 12, 9))


def test_three_months_is_not_ninety_days() -> None:
    """Three months from Mon 16 Mar 2026 is Tue 16 Jun; ninety days would be Sun 14 Jun."""
    start = uk(2026, 3, 16, 11)
    assert due(start, Timescale(90, DAYS), ENG) == Due(date(2026, 6, 14), utc(2026, 6, 14, 23))
    assert due(start, Timescale(3, MONTHS), ENG) == Due(date(2026, 6, 16), utc(2026, 6, 16, 23))


# --- calendar days and weeks -------------------------------------------------------------

CALENDAR_ROWS = [
    (uk(2026, 12, 23, 10), Timescale(3, DAYS), date(2026, 12, 26), utc(2026, 12, 27)),
    (uk(2026, 3, 27, 10), Timescale(2, DAYS), date(2026, 3, 29), utc(2026, 3, 29, 23)),
    (uk(2026, 10, 20, 10), Timescale(1, WEEKS), date(2026, 10, 27), utc(2026, 10, 28)),
    (uk(2026, 10, 20, 10), Timescale(0, WEEKS), date(2026, 10, 20), utc(2026, 10, 20, 23)),
    (utc(2026, 6, 7, 23, 30), Timescale(2, WEEKS), date(2026, 6, 22), utc(2026, 6, 22, 23)),
]


@pytest.mark.parametrize(("start", "timescale", "due_date", "breach"), CALENDAR_ROWS)
def test_calendar_days_and_weeks(
    start: datetime, timescale: Timescale, due_date: date, breach: datetime
) -> None:
    """Calendar days and weeks count every day from the local date, with no roll-forward."""
    assert due(start, timescale, ENG) == Due(due_date, breach)


# --- hours -------------------------------------------------------------------------------

#: (start, N hours, breach instant in UTC, the local wall clock at the breach)
HOURS_ROWS = [
    # The end of summer time, Sun 25 Oct 2026: 24 real hours read an hour earlier.
    (uk(2026, 10, 24, 12), 24, utc(2026, 10, 25, 11), uk(2026, 10, 25, 11)),
    (uk(2026, 10, 25, 0), 24, utc(2026, 10, 25, 23), uk(2026, 10, 25, 23)),
    (uk(2027, 10, 30, 12), 24, utc(2027, 10, 31, 11), uk(2027, 10, 31, 11)),
    # The start of summer time, Sun 29 Mar 2026: the clock reads an hour later.
    (uk(2026, 3, 28, 12), 24, utc(2026, 3, 29, 12), uk(2026, 3, 29, 13)),
    (uk(2027, 3, 27, 12), 24, utc(2027, 3, 28, 12), uk(2027, 3, 28, 13)),
    (uk(2026, 3, 28, 22), 48, utc(2026, 3, 30, 22), uk(2026, 3, 30, 23)),
    # Hours ignore bank holidays and weekends.
    (uk(2026, 12, 24, 17), 72, utc(2026, 12, 27, 17), uk(2026, 12, 27, 17)),
    (datetime(2026, 10, 24, 8, tzinfo=NEW_YORK), 24, utc(2026, 10, 25, 12), uk(2026, 10, 25, 12)),
    (uk(2026, 6, 8, 9), 0, utc(2026, 6, 8, 8), uk(2026, 6, 8, 9)),
]


@pytest.mark.parametrize(("start", "n", "breach", "wall"), HOURS_ROWS)
def test_hours_are_real_elapsed_time(
    start: datetime, n: int, breach: datetime, wall: datetime
) -> None:
    """N hours is N real hours after the start, whatever the clock change; no due date."""
    got = due(start, Timescale(n, HOURS), ENG)
    assert got == Due(None, breach)
    assert got.breach_at.tzinfo is UTC
    assert got.breach_at - start == timedelta(hours=n)
    local = got.breach_at.astimezone(UK_TIME)
    assert (local.date(), local.time()) == (wall.date(), wall.time())


# --- warnings and later tiers ------------------------------------------------------------

CANDOUR = Due(date(2027, 1, 11), utc(2027, 1, 12))
EASTER_2026 = Due(date(2026, 4, 7), utc(2026, 4, 7, 23))

#: (deadline, offset, before?, fire instant in UTC)
OFFSET_ROWS = [
    # GMT: the candour example, due Mon 11 Jan 2027.
    (CANDOUR, Timescale(2, WD), True, utc(2027, 1, 7)),
    (CANDOUR, Timescale(1, WD), True, utc(2027, 1, 8)),
    (CANDOUR, Timescale(0, WD), True, utc(2027, 1, 11)),
    (CANDOUR, Timescale(0, WD), False, utc(2027, 1, 12)),
    (CANDOUR, Timescale(3, WD), False, utc(2027, 1, 14)),
    (CANDOUR, Timescale(5, WD), True, utc(2027, 1, 4)),
    (CANDOUR, Timescale(6, WD), True, utc(2026, 12, 31)),  # skips New Year's Day
    # BST: due Tue 7 Apr 2026, after Good Friday and Easter Monday.
    (EASTER_2026, Timescale(1, WD), True, utc(2026, 4, 1, 23)),  # 00:00 BST Thu 2 Apr
    (EASTER_2026, Timescale(1, WD), False, utc(2026, 4, 7, 23)),  # 00:00 BST Wed 8 Apr
    (EASTER_2026, Timescale(2, WD), False, utc(2026, 4, 8, 23)),
    (EASTER_2026, Timescale(5, WD), True, utc(2026, 3, 27)),  # Fri 27 Mar, still GMT
    # Across the end of BST: due Mon 26 Oct 2026 (GMT), warned Fri 23 Oct (BST).
    (Due(date(2026, 10, 26), utc(2026, 10, 27)), Timescale(1, WD), True, utc(2026, 10, 22, 23)),
    # Across Christmas 2026: due Thu 24 Dec, a tier one working day after is Tue 29 Dec.
    (Due(date(2026, 12, 24), utc(2026, 12, 25)), Timescale(1, WD), False, utc(2026, 12, 29)),
    # Calendar days, weeks and months: 00:00 local on that date.
    (CANDOUR, Timescale(3, DAYS), True, utc(2027, 1, 8)),
    (CANDOUR, Timescale(3, DAYS), False, utc(2027, 1, 14)),
    (CANDOUR, Timescale(1, WEEKS), True, utc(2027, 1, 4)),
    (CANDOUR, Timescale(2, WEEKS), False, utc(2027, 1, 25)),
    (CANDOUR, Timescale(1, MONTHS), True, utc(2026, 12, 11)),
    (CANDOUR, Timescale(1, MONTHS), False, utc(2027, 2, 11)),
    (Due(date(2026, 3, 31), utc(2026, 3, 31, 23)), Timescale(1, MONTHS), True, utc(2026, 2, 28)),
    (EASTER_2026, Timescale(0, DAYS), False, utc(2026, 4, 7, 23)),
    # Hours: real hours either side of the breach instant.
    (Due(None, utc(2026, 10, 25, 11)), Timescale(2, HOURS), True, utc(2026, 10, 25, 9)),
    (Due(None, utc(2026, 10, 25, 11)), Timescale(2, HOURS), False, utc(2026, 10, 25, 13)),
    (EASTER_2026, Timescale(12, HOURS), True, utc(2026, 4, 7, 11)),
    # An hours deadline with a working-day tier: its due date is the breach's local date.
    (Due(None, utc(2026, 6, 5, 23, 30)), Timescale(1, WD), False, utc(2026, 6, 7, 23)),
    (Due(None, utc(2026, 6, 5, 23, 30)), Timescale(1, WD), True, utc(2026, 6, 4, 23)),
]


@pytest.mark.parametrize(("deadline", "offset", "before", "expected"), OFFSET_ROWS)
def test_warnings_and_tiers_fire_at_local_midnight(
    deadline: Due, offset: Timescale, before: bool, expected: datetime
) -> None:
    """Warnings W working days before and tiers K after fire at 00:00 local (UTC asserted)."""
    got = offset_instant(deadline, offset, ENG, before=before)
    assert got == expected
    assert got.tzinfo is UTC


def test_offset_reads_a_breach_given_in_local_time() -> None:
    """A deadline whose breach instant is in another zone gives the same UTC firing instant."""
    local = Due(None, uk(2026, 10, 25, 11))
    got = offset_instant(local, Timescale(2, HOURS), ENG, before=False)
    assert got == utc(2026, 10, 25, 13)
    assert got.tzinfo is UTC
    same = offset_instant(Due(None, uk(2026, 6, 8, 0, 30)), Timescale(0, WD), ENG, before=False)
    assert same == utc(2026, 6, 7, 23, 30)
    assert same.tzinfo is UTC


# --- retention review --------------------------------------------------------------------

RETENTION_ROWS = [
    (date(2026, 12, 23), 10, date(2036, 12, 23)),
    (date(2026, 12, 25), 1, date(2027, 12, 25)),  # a Saturday holiday: no roll-forward
    (date(2024, 2, 29), 10, date(2034, 2, 28)),
    (date(2024, 2, 29), 4, date(2028, 2, 29)),
    (date(2026, 3, 16), 20, date(2046, 3, 16)),
    (date(2026, 1, 31), 0, date(2026, 1, 31)),
]


@pytest.mark.parametrize(("incident", "years", "expected"), RETENTION_ROWS)
def test_retention_review_same_calendar_date(incident: date, years: int, expected: date) -> None:
    """Retention review: the same calendar date N years on (29 Feb becomes 28 Feb)."""
    assert retention_review_date(incident, years) == expected


# --- bad input ---------------------------------------------------------------------------

NAIVE = datetime(2026, 12, 23, 10)  # noqa: DTZ001 - a naive datetime is the bad input here
GOOD = uk(2026, 12, 23, 10)
TEN = Timescale(10, WD)
BAD_INPUT: list[tuple[Callable[[], object], str]] = [
    (lambda: due(NAIVE, TEN, ENG), "start must be an aware datetime (one with a time zone)"),
    (lambda: due(date(2026, 12, 23), TEN, ENG), "start must be an aware datetime"),  # type: ignore[arg-type]
    (lambda: due("2026-12-23", TEN, ENG), "start must be an aware datetime"),  # type: ignore[arg-type]
    (lambda: due(GOOD, Timescale(-1, WD), ENG), "timescale.amount cannot be negative"),
    (lambda: due(GOOD, Timescale(-1, HOURS), ENG), "timescale.amount cannot be negative"),
    (lambda: due(GOOD, Timescale(True, WD), ENG), "timescale.amount must be a whole number"),
    (lambda: due(GOOD, Timescale(1.5, WD), ENG), "timescale.amount must be a whole number"),  # type: ignore[arg-type]
    (lambda: due(GOOD, Timescale(3, "months"), ENG), "timescale must be a Timescale"),  # type: ignore[arg-type]
    (lambda: due(GOOD, 10, ENG), "timescale must be a Timescale"),  # type: ignore[arg-type]
    (lambda: due(GOOD, TEN, "england_and_wales"), "calendar must be a WorkingDayCalendar"),  # type: ignore[arg-type]
    (
        lambda: offset_instant(CANDOUR, Timescale(-1, WD), ENG, before=True),
        "offset.amount cannot be negative",
    ),
    (
        lambda: offset_instant(CANDOUR, Timescale(-2, HOURS), ENG, before=False),
        "offset.amount cannot be negative",
    ),
    (
        lambda: offset_instant(CANDOUR, Timescale(1, "hours"), ENG, before=False),  # type: ignore[arg-type]
        "offset must be a Timescale",
    ),
    (lambda: offset_instant(CANDOUR, 2, ENG, before=True), "offset must be a Timescale"),  # type: ignore[arg-type]
    (
        lambda: offset_instant(CANDOUR, Timescale(1, WD), None, before=True),  # type: ignore[arg-type]
        "calendar must be a WorkingDayCalendar",
    ),
    (
        lambda: offset_instant(utc(2027, 1, 12), Timescale(1, WD), ENG, before=True),  # type: ignore[arg-type]
        "deadline must be a Due",
    ),
    (
        lambda: offset_instant(Due(None, NAIVE), Timescale(1, HOURS), ENG, before=True),
        "deadline.breach_at must be an aware datetime (one with a time zone)",
    ),
    (lambda: local_date(NAIVE), "moment must be an aware datetime (one with a time zone)"),
    (lambda: local_date(date(2026, 1, 1)), "moment must be an aware datetime"),  # type: ignore[arg-type]
    (
        lambda: local_midnight(GOOD),
        "day must be a date (a datetime is converted with local_date first)",
    ),
    (lambda: local_midnight("2026-01-01"), "day must be a date"),  # type: ignore[arg-type]
    (lambda: breach_instant(GOOD), "due_date must be a date"),
    (lambda: due_on(GOOD), "day must be a date"),
    (lambda: working_days_after(date(2026, 1, 1), -1, ENG), "n cannot be negative"),
    (lambda: working_days_after(GOOD, 1, ENG), "day must be a date"),
    (lambda: working_days_after(date(2026, 1, 1), 1, None), "calendar must be a"),  # type: ignore[arg-type]
    (lambda: working_days_before(date(2026, 1, 1), -1, ENG), "n cannot be negative"),
    (lambda: working_days_before(date(2026, 1, 1), 2.0, ENG), "n must be a whole number"),  # type: ignore[arg-type]
    (lambda: working_days_before(GOOD, 1, ENG), "day must be a date"),
    (lambda: working_days_before(date(2026, 1, 1), 1, None), "calendar must be a"),  # type: ignore[arg-type]
    (lambda: months_due(date(2026, 1, 1), -3, ENG), "n cannot be negative"),
    (lambda: months_due(GOOD, 3, ENG), "start must be a date"),
    (lambda: months_due(date(2026, 1, 1), 3, None), "calendar must be a"),  # type: ignore[arg-type]
    (lambda: retention_review_date(date(2026, 1, 1), -10), "years cannot be negative"),
    (lambda: retention_review_date(date(2026, 1, 1), False), "years must be a whole number"),
    (lambda: retention_review_date(GOOD, 10), "incident_date must be a date"),
]


@pytest.mark.parametrize(("call", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_argument(call: Callable[[], object], message: str) -> None:
    """Bad input raises ValueError whose message names the argument and echoes no value."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}") as raised:
        call()
    assert "2026" not in str(raised.value)


# --- properties --------------------------------------------------------------------------

REGIONS = st.sampled_from([ENG, SCT, NIR])
DAYS_2026_27 = st.dates(date(2025, 12, 1), date(2027, 10, 31))
ZONES = st.sampled_from([UTC, UK_TIME, NEW_YORK])
INSTANTS = st.datetimes(
    datetime(2025, 12, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    datetime(2027, 10, 31),  # noqa: DTZ001
    timezones=ZONES,
    allow_imaginary=False,
)


@given(INSTANTS, st.integers(1, 40), REGIONS)
def test_working_day_due_date_is_a_working_day(
    start: datetime, n: int, calendar: WorkingDayCalendar
) -> None:
    """A working-day due date is a working day N working days after the start's local date."""
    got = due(start, Timescale(n, WD), calendar)
    assert got.due_date is not None
    assert calendar.is_working_day(got.due_date)
    assert got.due_date > local_date(start)
    assert calendar.working_days_between(start, local_midnight(got.due_date)) == n


@given(INSTANTS, st.integers(0, 12), REGIONS)
def test_month_due_date_is_a_working_day(
    start: datetime, n: int, calendar: WorkingDayCalendar
) -> None:
    """A month due date is the month step itself if a working day, else the next working day."""
    got = due(start, Timescale(n, MONTHS), calendar)
    assert got.due_date is not None
    assert calendar.is_working_day(got.due_date)
    stepped = add_months(local_date(start), n)
    assert timedelta(0) <= got.due_date - stepped <= timedelta(days=5)
    if calendar.is_working_day(stepped):
        assert got.due_date == stepped
    else:
        assert got.due_date == calendar.next_working_day(stepped)


@given(INSTANTS, st.sampled_from([DAYS, WEEKS, WD, MONTHS]), st.integers(0, 30))
def test_breach_is_local_midnight_after_the_due_date(
    start: datetime, unit: TimeUnit, n: int
) -> None:
    """A day-based deadline is breached at 00:00 Europe/London on the day after its due date."""
    got = due(start, Timescale(n, unit), ENG)
    assert got.due_date is not None
    local = got.breach_at.astimezone(UK_TIME)
    assert local.time() == time(0)
    assert local.date() == got.due_date + timedelta(days=1)
    assert got.breach_at.tzinfo is UTC


@given(DAYS_2026_27, st.integers(0, 15), st.sampled_from([WD, DAYS, WEEKS, MONTHS]), REGIONS)
def test_warnings_never_after_due_and_tiers_never_before_breach(
    day: date, k: int, unit: TimeUnit, calendar: WorkingDayCalendar
) -> None:
    """A warning fires no later than 00:00 on the due date; a later tier no earlier than breach."""
    deadline = due_on(day)
    warning = offset_instant(deadline, Timescale(k, unit), calendar, before=True)
    tier = offset_instant(deadline, Timescale(k, unit), calendar, before=False)
    assert warning <= local_midnight(day) < deadline.breach_at <= tier
    assert warning.astimezone(UK_TIME).time() == time(0)
    assert tier.astimezone(UK_TIME).time() == time(0)
    if unit is WD and k > 0:
        assert calendar.is_working_day(local_date(warning))
        assert calendar.is_working_day(local_date(tier))


@given(DAYS_2026_27, st.integers(0, 30), REGIONS)
def test_working_days_strictly_increase_and_invert(
    day: date, n: int, calendar: WorkingDayCalendar
) -> None:
    """N working days is strictly increasing in N, and counting back undoes counting forward."""
    here = working_days_after(day, n, calendar)
    there = working_days_after(day, n + 1, calendar)
    assert there > here
    assert calendar.is_working_day(there)
    assert working_days_before(there, 1, calendar) == here or not calendar.is_working_day(here)
    if calendar.is_working_day(day):
        assert working_days_before(here, n, calendar) == day


@given(INSTANTS, st.integers(0, 24 * 14))
def test_hours_rule_is_exact_elapsed_time(start: datetime, n: int) -> None:
    """N hours is exactly the start plus N hours of real time, as a UTC instant."""
    got = due(start, Timescale(n, HOURS), ENG)
    assert got.due_date is None
    assert got.breach_at == start.astimezone(UTC) + timedelta(hours=n)
    assert got.breach_at - start == timedelta(hours=n)
    assert got.breach_at.tzinfo is UTC
