"""Working-day calendars: bank holidays by region, closure days and working-day arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.policy import Region, Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.calendars import UK_TIME


ENG = WorkingDayCalendar(Region.ENGLAND_AND_WALES)
SCT = WorkingDayCalendar(Region.SCOTLAND)
NIR = WorkingDayCalendar(Region.NORTHERN_IRELAND)

# (day, region, is a bank holiday there)
BANK_HOLIDAYS = [
    (date(2026, 8, 31), Region.ENGLAND_AND_WALES, True),
    (date(2026, 8, 31), Region.SCOTLAND, False),
    (date(2026, 8, 3), Region.SCOTLAND, True),
    (date(2026, 8, 3), Region.ENGLAND_AND_WALES, False),
    (date(2026, 3, 17), Region.NORTHERN_IRELAND, True),
    (date(2026, 3, 17), Region.ENGLAND_AND_WALES, False),
    (date(2026, 7, 13), Region.NORTHERN_IRELAND, True),
    (date(2026, 4, 6), Region.ENGLAND_AND_WALES, True),
    (date(2026, 4, 6), Region.SCOTLAND, False),
    (date(2026, 1, 2), Region.SCOTLAND, True),
    (date(2026, 1, 2), Region.ENGLAND_AND_WALES, False),
    (date(2026, 11, 30), Region.SCOTLAND, True),
    (date(2026, 12, 28), Region.ENGLAND_AND_WALES, True),
    (date(2026, 5, 25), Region.NORTHERN_IRELAND, True),
]


class TestBankHolidays:
    """Bank holidays follow the region's calendar."""

    @pytest.mark.parametrize(
        ("day", "region", "holiday"),
        BANK_HOLIDAYS,
        ids=[f"{d}-{r.value}-{h}" for d, r, h in BANK_HOLIDAYS],
    )
    def test_known_bank_holidays(self, day: date, region: Region, *, holiday: bool) -> None:
        """A known bank holiday is not a working day in its region and is elsewhere."""
        calendar = WorkingDayCalendar(region)
        assert calendar.is_working_day(day) is not holiday
        assert (calendar.bank_holiday(day) is not None) is holiday

    def test_weekends_are_not_working_days(self) -> None:
        """Saturday and Sunday are never working days."""
        assert not ENG.is_working_day(date(2026, 1, 10))
        assert not ENG.is_working_day(date(2026, 1, 11))
        assert ENG.is_working_day(date(2026, 1, 12))

    def test_closure_days_are_not_working_days(self) -> None:
        """A trust's own closure day is not a working day, for that trust only."""
        closed = WorkingDayCalendar(Region.ENGLAND_AND_WALES, frozenset({date(2026, 12, 29)}))
        assert not closed.is_working_day(date(2026, 12, 29))
        assert ENG.is_working_day(date(2026, 12, 29))

    def test_aware_datetimes_are_judged_in_uk_time(self) -> None:
        """23:30 UTC on a summer Sunday is already Monday in the UK."""
        late_sunday = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)
        assert ENG.is_working_day(late_sunday)
        assert not ENG.is_working_day(late_sunday - timedelta(hours=1))

    def test_naive_datetimes_are_refused(self) -> None:
        """A naive datetime cannot be placed in UK time and is refused."""
        with pytest.raises(ValueError, match="aware"):
            ENG.is_working_day(datetime(2026, 6, 15, 9))  # noqa: DTZ001 - the point of the test

    def test_equality_is_by_region_and_closures(self) -> None:
        """Calendars with the same region and closures are equal and hash alike."""
        assert WorkingDayCalendar(Region.SCOTLAND) == SCT
        assert hash(WorkingDayCalendar(Region.SCOTLAND)) == hash(SCT)
        assert SCT != ENG
        assert SCT != "scotland"


# Additions in England and Wales: start, working days added, expected moment.
ADDITIONS = [
    (datetime(2026, 8, 28, 15, tzinfo=UTC), 1, datetime(2026, 9, 1, 15, tzinfo=UTC)),
    (datetime(2026, 8, 29, 9, tzinfo=UTC), 1, datetime(2026, 9, 1, 9, tzinfo=UTC)),
    (datetime(2026, 1, 5, 9, tzinfo=UTC), 10, datetime(2026, 1, 19, 9, tzinfo=UTC)),
    (datetime(2026, 12, 23, 9, tzinfo=UTC), 2, datetime(2026, 12, 29, 9, tzinfo=UTC)),
    (datetime(2026, 3, 27, 10, tzinfo=UTC), 1, datetime(2026, 3, 30, 9, tzinfo=UTC)),
    (datetime(2026, 3, 4, 9, tzinfo=UTC), 0, datetime(2026, 3, 4, 9, tzinfo=UTC)),
]


class TestWorkingDayArithmetic:
    """Adding and counting working days."""

    @pytest.mark.parametrize(
        ("start", "n", "expected"),
        ADDITIONS,
        ids=[
            "friday-before-bank-holiday",
            "saturday",
            "ten-days",
            "christmas",
            "keeps-uk-clock-time-across-dst",
            "zero",
        ],
    )
    def test_add_working_days(self, start: datetime, n: int, expected: datetime) -> None:
        """N working days after a start lands on the expected moment."""
        assert ENG.add_working_days(start, n) == expected

    def test_result_keeps_the_start_time_zone(self) -> None:
        """The result is aware and in the start's time zone."""
        start = datetime(2026, 1, 5, 9, tzinfo=timezone(timedelta(hours=2)))
        result = ENG.add_working_days(start, 1)
        assert result.tzinfo is start.tzinfo

    def test_negative_days_are_refused(self) -> None:
        """Adding a negative number of working days is refused."""
        with pytest.raises(ValueError, match="negative"):
            ENG.add_working_days(datetime(2026, 1, 5, tzinfo=UTC), -1)

    def test_naive_start_is_refused(self) -> None:
        """Adding working days to a naive datetime is refused."""
        with pytest.raises(ValueError, match="aware"):
            ENG.add_working_days(datetime(2026, 1, 5), 1)  # noqa: DTZ001 - the point of the test

    def test_working_days_between_counts_after_start_up_to_end(self) -> None:
        """Counting excludes the start date, includes the end date and can go backwards."""
        start = datetime(2026, 8, 28, 9, tzinfo=UTC)
        end = datetime(2026, 9, 2, 9, tzinfo=UTC)
        assert ENG.working_days_between(start, end) == 2
        assert ENG.working_days_between(end, start) == -2
        assert SCT.working_days_between(start, end) == 3

    @given(
        start=st.datetimes(
            min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - made aware by timezones below
            max_value=datetime(2030, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        n=st.integers(min_value=1, max_value=60),
        region=st.sampled_from(list(Region)),
    )
    def test_adding_lands_on_a_working_day_and_inverts(
        self, start: datetime, n: int, region: Region
    ) -> None:
        """N working days later is a working day, later than N-1, and counts back to N."""
        calendar = WorkingDayCalendar(region)
        result = calendar.add_working_days(start, n)
        assert calendar.is_working_day(result.astimezone(UK_TIME).date())
        assert result > calendar.add_working_days(start, n - 1)
        assert calendar.working_days_between(start, result) == n


class TestTimescales:
    """Adding a timescale in any unit and comparing timescales."""

    START = datetime(2026, 1, 31, 9, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("timescale", "expected"),
        [
            (Timescale(48, TimeUnit.HOURS), datetime(2026, 2, 2, 9, tzinfo=UTC)),
            (Timescale(3, TimeUnit.CALENDAR_DAYS), datetime(2026, 2, 3, 9, tzinfo=UTC)),
            (Timescale(2, TimeUnit.WEEKS), datetime(2026, 2, 14, 9, tzinfo=UTC)),
            (Timescale(1, TimeUnit.MONTHS), datetime(2026, 2, 28, 9, tzinfo=UTC)),
            (Timescale(12, TimeUnit.MONTHS), datetime(2027, 1, 31, 9, tzinfo=UTC)),
            (Timescale(1, TimeUnit.WORKING_DAYS), datetime(2026, 2, 2, 9, tzinfo=UTC)),
        ],
        ids=["hours", "calendar-days", "weeks", "month-end-clamps", "year", "working-days"],
    )
    def test_add_timescale(self, timescale: Timescale, expected: datetime) -> None:
        """A timescale after a start lands on the expected moment."""
        assert ENG.add(self.START, timescale) == expected

    def test_negative_timescale_is_refused(self) -> None:
        """A negative timescale cannot be added."""
        with pytest.raises(ValueError, match="negative"):
            ENG.add(self.START, Timescale(-1, TimeUnit.CALENDAR_DAYS))

    @pytest.mark.parametrize(
        ("longer", "shorter", "certain"),
        [
            (Timescale(7, TimeUnit.MONTHS), Timescale(6, TimeUnit.MONTHS), True),
            (Timescale(6, TimeUnit.MONTHS), Timescale(6, TimeUnit.MONTHS), False),
            (Timescale(27, TimeUnit.WEEKS), Timescale(6, TimeUnit.MONTHS), True),
            (Timescale(26, TimeUnit.WEEKS), Timescale(6, TimeUnit.MONTHS), False),
            (Timescale(130, TimeUnit.WORKING_DAYS), Timescale(6, TimeUnit.MONTHS), False),
            (Timescale(140, TimeUnit.WORKING_DAYS), Timescale(6, TimeUnit.MONTHS), True),
            (Timescale(49, TimeUnit.HOURS), Timescale(2, TimeUnit.CALENDAR_DAYS), True),
            (Timescale(0, TimeUnit.MONTHS), Timescale(0, TimeUnit.HOURS), False),
            (Timescale(13, TimeUnit.MONTHS), Timescale(1, TimeUnit.MONTHS), True),
        ],
        ids=[
            "7m>6m",
            "6m=6m",
            "27w>6m",
            "26w-may-fit-6m",
            "130wd-may-fit-6m",
            "140wd>6m",
            "49h>2d",
            "zero",
            "13m>1m",
        ],
    )
    def test_certainly_longer_than(
        self, longer: Timescale, shorter: Timescale, *, certain: bool
    ) -> None:
        """A timescale is certainly longer only when it is for every possible start."""
        assert longer.certainly_longer_than(shorter) is certain

    def test_str_reads_as_words(self) -> None:
        """A timescale prints as an amount and a unit in words."""
        assert str(Timescale(10, TimeUnit.WORKING_DAYS)) == "10 working days"
