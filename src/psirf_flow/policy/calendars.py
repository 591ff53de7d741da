"""Working days and timescales: UK bank holidays by region plus a trust's own closure days.

Bank holidays come from the ``holidays`` package, which ships its data, so nothing is
fetched over a network. The regions a plan may name, and the ``holidays`` subdivision
used for each:

* ``england_and_wales`` -> ``GB`` / ``ENG``. England and Wales share the same bank
  holidays in law (the Banking and Financial Dealings Act 1971 lists them together), and
  the ``holidays`` package gives ``WLS`` the same dates as ``ENG``; we use ``ENG``.
  Wales has its own duty of candour regulations with their own day counts, which this
  library does not apply to English providers (psirf-rules §4.2).
* ``scotland`` -> ``SCT`` (2 January, the first Monday of August, St Andrew's Day and no
  Easter Monday or late-August holiday, for instance).
* ``northern_ireland`` -> ``NIR`` (adds St Patrick's Day and the Battle of the Boyne).

Substitute ("observed") days are bank holidays too. A working day is a Monday to Friday
that is neither a bank holiday of the region nor one of the trust's closure days.

Dates are judged in UK local time (``Europe/London``): an aware datetime is first converted
to UK time and its calendar date is the one that counts.

Timescales ([`Timescale`][psirf_flow.policy.calendars.Timescale]) are amounts of hours, calendar
days, working days, weeks or months. The duty of candour targets are counted in working days; the
regulation itself sets no day count (psirf-rules §4.2), which is why they are plan settings.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

import attrs
import holidays


__all__ = [
    "UK_TIME",
    "Region",
    "TimeUnit",
    "Timescale",
    "WorkingDayCalendar",
    "add_months",
]

UK_TIME: Final[tzinfo] = ZoneInfo("Europe/London")
"""The time zone in which a calendar date is judged."""


class Region(StrEnum):
    """Which UK bank holidays a trust observes."""

    ENGLAND_AND_WALES = "england_and_wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"

    @property
    def subdivision(self) -> str:
        """The ISO 3166-2 subdivision code the ``holidays`` package uses for the region."""
        return _SUBDIVISIONS[self]


_SUBDIVISIONS: Final = {
    Region.ENGLAND_AND_WALES: "ENG",
    Region.SCOTLAND: "SCT",
    Region.NORTHERN_IRELAND: "NIR",
}


class TimeUnit(StrEnum):
    """The unit of a [`Timescale`][psirf_flow.policy.calendars.Timescale]."""

    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    WEEKS = "weeks"
    MONTHS = "months"


@attrs.frozen
class Timescale:
    """An amount of time in a unit, such as 3 months or 10 working days.

    Attributes:
        amount: How many units (zero is meaningful only for escalation tiers).
        unit: The unit.
    """

    amount: int
    unit: TimeUnit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value.replace('_', ' ')}"

    def shortest_days(self) -> float:
        """The fewest calendar days this timescale can span, whatever the start date.

        Working days can span as few calendar days as there are working days plus the
        weekends they must cross; months can be as short as 28, 59 or so days.
        """
        n = self.amount
        if self.unit is TimeUnit.HOURS:
            return n / 24
        if self.unit is TimeUnit.CALENDAR_DAYS:
            return float(n)
        if self.unit is TimeUnit.WORKING_DAYS:
            return float(n + 2 * max(0, (n - 1) // 5))
        if self.unit is TimeUnit.WEEKS:
            return float(7 * n)
        return float(_month_days(n, shortest=True))

    def longest_days(self) -> float:
        """The most calendar days this timescale can span, whatever the start date.

        For working days the bound allows a generous twelve non-working weekdays a year
        (bank holidays plus closure days) on top of weekends.
        """
        n = self.amount
        if self.unit is TimeUnit.HOURS:
            return n / 24
        if self.unit is TimeUnit.CALENDAR_DAYS:
            return float(n)
        if self.unit is TimeUnit.WORKING_DAYS:
            weeks = n // 5 + 1
            return float(7 * weeks + 2 + 12 * (weeks // 52 + 1))
        if self.unit is TimeUnit.WEEKS:
            return float(7 * n)
        return float(_month_days(n, shortest=False))

    def certainly_longer_than(self, other: Timescale) -> bool:
        """Tell whether this timescale is longer than ``other`` for every possible start."""
        return self.shortest_days() > other.longest_days()


def _month_days(months: int, *, shortest: bool) -> int:
    """Fewest (or most) days spanned by ``months`` consecutive calendar months."""
    lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if months <= 0:
        return 0
    whole_years, rest = divmod(months, 12)
    total = whole_years * (365 if shortest else 366)
    if rest:
        spans = [sum(lengths[(s + i) % 12] for i in range(rest)) for s in range(12)]
        total += min(spans) if shortest else max(spans) + 1
    return total


def _to_dates(days: Iterable[date]) -> frozenset[date]:
    return frozenset(days)


def _holiday_calendar(region: Region) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=region.subdivision, language="en_GB")


@attrs.frozen(eq=False)
class WorkingDayCalendar:
    """Which days are working days for a trust: weekdays minus bank holidays and closures.

    Two calendars are equal when they have the same region and closure days.

    Args:
        region: The bank holidays observed.
        closure_days: The trust's own non-working days (for example a local closure day).

    Examples:
        ```python
        from datetime import date
        from psirf_flow.policy.calendars import Region, WorkingDayCalendar
        cal = WorkingDayCalendar(Region.ENGLAND_AND_WALES)
        cal.is_working_day(date(2026, 8, 31))  # False: the late summer bank holiday
        WorkingDayCalendar(Region.SCOTLAND).is_working_day(date(2026, 8, 31))  # True
        ```
    """

    region: Region = Region.ENGLAND_AND_WALES
    closure_days: frozenset[date] = attrs.field(factory=frozenset, converter=_to_dates)
    _bank_holidays: holidays.HolidayBase = attrs.field(
        init=False, repr=False, default=attrs.Factory(lambda s: _holiday_calendar(s.region), True)
    )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingDayCalendar):
            return NotImplemented
        return (self.region, self.closure_days) == (other.region, other.closure_days)

    def __hash__(self) -> int:
        return hash((self.region, self.closure_days))

    def bank_holiday(self, day: date) -> str | None:
        """The name of the bank holiday on ``day`` in the region, or ``None``."""
        name = self._bank_holidays.get(_local_date(day))
        return None if name is None else str(name)

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` (a date, or an aware datetime taken in UK time) is a working day."""
        local = _local_date(day)
        return (
            local.weekday() < 5
            and local not in self.closure_days
            and local not in self._bank_holidays
        )

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = _local_date(day) + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The moment ``n`` working days after ``start``.

        "N working days after" means: take the calendar date of ``start`` in UK time, step
        forward to the next working day ``n`` times, and keep ``start``'s UK clock time.
        So a start on Friday at 15:00 plus one working day is the following Monday at
        15:00 (or Tuesday when Monday is a bank holiday), and a start on a Saturday plus one
        working day is Monday at the same clock time. The start day itself never counts,
        whether or not it is a working day. ``n == 0`` returns ``start`` unchanged.

        Args:
            start: An aware datetime.
            n: Zero or more working days.

        Returns:
            An aware datetime in ``start``'s time zone.

        Raises:
            ValueError: If ``start`` is naive or ``n`` is negative.
        """
        _require_aware(start)
        if n < 0:
            msg = "the number of working days to add cannot be negative"
            raise ValueError(msg)
        if n == 0:
            return start
        local = start.astimezone(UK_TIME)
        day = local.date()
        for _ in range(n):
            day = self.next_working_day(day)
        return _at_uk_time(day, local.timetz()).astimezone(start.tzinfo)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """How many working days lie after ``start``'s date up to and including ``end``'s.

        The inverse of
        [`add_working_days`][psirf_flow.policy.calendars.WorkingDayCalendar.add_working_days]: for
        ``n >= 0``, ``working_days_between(s, add_working_days(s, n)) == n``. Negative when ``end``
        is on an earlier date than ``start``. Dates are taken in UK time.

        Raises:
            ValueError: If either datetime is naive.
        """
        _require_aware(start)
        _require_aware(end)
        first = start.astimezone(UK_TIME).date()
        last = end.astimezone(UK_TIME).date()
        if last < first:
            return -self._count(last, first)
        return self._count(first, last)

    def _count(self, after: date, up_to: date) -> int:
        count = 0
        day = after + timedelta(days=1)
        while day <= up_to:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def add(self, start: datetime, timescale: Timescale) -> datetime:
        """The moment ``timescale`` after ``start`` (aware in, aware out).

        Hours are exact elapsed time. Calendar days, weeks and months keep ``start``'s UK
        clock time; a month step from the 31st lands on the last day of a shorter month.
        Working days follow
        [`add_working_days`][psirf_flow.policy.calendars.WorkingDayCalendar.add_working_days].

        Raises:
            ValueError: If ``start`` is naive or the amount is negative.
        """
        _require_aware(start)
        if timescale.amount < 0:
            msg = "a timescale cannot be negative"
            raise ValueError(msg)
        if timescale.unit is TimeUnit.HOURS:
            return start + timedelta(hours=timescale.amount)
        if timescale.unit is TimeUnit.WORKING_DAYS:
            return self.add_working_days(start, timescale.amount)
        local = start.astimezone(UK_TIME)
        if timescale.unit is TimeUnit.MONTHS:
            day = add_months(local.date(), timescale.amount)
        else:
            days = timescale.amount * (7 if timescale.unit is TimeUnit.WEEKS else 1)
            day = local.date() + timedelta(days=days)
        return _at_uk_time(day, local.timetz()).astimezone(start.tzinfo)


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, or that month's last day if it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = _calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def _at_uk_time(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=UK_TIME)


def _local_date(day: date) -> date:
    if isinstance(day, datetime):
        _require_aware(day)
        return day.astimezone(UK_TIME).date()
    return day


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"an aware datetime is needed, got {moment!r}"
        raise ValueError(msg)
