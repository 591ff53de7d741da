"""Working days are judged in UK time whatever the machine's own time zone is.

The day rules are run under several machine zones (``TZ`` set and ``time.tzset()`` called,
then restored), with late-evening British Summer Time moments whose UK date is not their
UTC date: 00:30 BST on a Saturday is 23:30 UTC on the Friday. A calculation done in the
machine's zone instead of UK time gets these wrong on a UTC machine, and others elsewhere.
The existing calendar and audit tests are also re-run in subprocesses under New York and
Sydney time. The exact bounds of timescales (fewest and most calendar days) close the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from psirf_flow.policy import Region, Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.calendars import UK_TIME


ENG = WorkingDayCalendar(Region.ENGLAND_AND_WALES)
NEW_YORK = ZoneInfo("America/New_York")
MACHINE_ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Sydney"]
ROOT = Path(__file__).resolve().parents[2]

#: Friday 5 June 2026, 23:30 UTC: already Saturday 6 June, 00:30, in UK (summer) time.
SATURDAY_0030_BST = datetime(2026, 6, 5, 23, 30, tzinfo=UTC)
#: Thursday 4 June 2026, 23:30 BST (22:30 UTC): late evening, still Thursday in UK time.
THURSDAY_2330_BST = datetime(2026, 6, 4, 22, 30, tzinfo=UTC)


@pytest.fixture(name="machine_zone", params=MACHINE_ZONES)
def _machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's local time zone set to the parameter, then restore."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def in_uk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A UK wall-clock moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UK_TIME)


#: (start, working days, expected moment): late evenings and small hours in summer time.
ADD_ROWS = [
    pytest.param(SATURDAY_0030_BST, 1, in_uk(2026, 6, 8, 0, 30), id="sat-0030-bst+1=mon"),
    pytest.param(THURSDAY_2330_BST, 1, in_uk(2026, 6, 5, 23, 30), id="thu-2330-bst+1=fri"),
    pytest.param(THURSDAY_2330_BST, 2, in_uk(2026, 6, 8, 23, 30), id="thu-2330-bst+2=mon"),
    pytest.param(
        datetime(2026, 8, 28, 23, 30, tzinfo=UTC),
        1,
        in_uk(2026, 9, 1, 0, 30),
        id="sat-0030-bst-before-bank-holiday+1=tue",
    ),
    pytest.param(
        datetime(2026, 6, 5, 19, 30, tzinfo=NEW_YORK),
        1,
        in_uk(2026, 6, 8, 0, 30),
        id="new-york-friday-evening-is-uk-saturday",
    ),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_ROWS)
def test_add_working_days_in_uk_time(
    machine_zone: str, start: datetime, n: int, expected: datetime
) -> None:
    """Adding working days counts UK dates and keeps the UK clock time and start's zone."""
    result = ENG.add_working_days(start, n)

    assert result == expected
    assert result.tzinfo is start.tzinfo
    assert ENG.add(start, Timescale(n, TimeUnit.WORKING_DAYS)) == expected
    assert ENG.working_days_between(start, result) == n


@pytest.mark.parametrize(
    ("unit", "amount", "expected"),
    [
        (TimeUnit.CALENDAR_DAYS, 1, in_uk(2026, 6, 7, 0, 30)),
        (TimeUnit.WEEKS, 1, in_uk(2026, 6, 13, 0, 30)),
        (TimeUnit.MONTHS, 1, in_uk(2026, 7, 6, 0, 30)),
        (TimeUnit.HOURS, 24, in_uk(2026, 6, 7, 0, 30)),
        (TimeUnit.CALENDAR_DAYS, 0, in_uk(2026, 6, 6, 0, 30)),
        (TimeUnit.MONTHS, 0, in_uk(2026, 6, 6, 0, 30)),
    ],
)
def test_add_timescale_in_uk_time(
    machine_zone: str, unit: TimeUnit, amount: int, expected: datetime
) -> None:
    """Days, weeks and months step from the UK date and keep the UK clock time."""
    result = ENG.add(SATURDAY_0030_BST, Timescale(amount, unit))

    assert result == expected
    assert result.tzinfo is UTC


def test_zero_working_days_returns_the_start(machine_zone: str) -> None:
    """Zero working days, or a zero timescale, is the start moment itself."""
    assert ENG.add(SATURDAY_0030_BST, Timescale(0, TimeUnit.WORKING_DAYS)) is SATURDAY_0030_BST
    assert ENG.add_working_days(SATURDAY_0030_BST, 0) is SATURDAY_0030_BST


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (THURSDAY_2330_BST, SATURDAY_0030_BST, 1),
        (SATURDAY_0030_BST, THURSDAY_2330_BST, -1),
        (SATURDAY_0030_BST, datetime(2026, 6, 7, 23, 30, tzinfo=UTC), 1),
        (SATURDAY_0030_BST, datetime(2026, 6, 6, 22, 30, tzinfo=UTC), 0),
        (datetime(2026, 6, 5, 22, 30, tzinfo=UTC), SATURDAY_0030_BST, 0),
    ],
    ids=["thu-to-sat", "sat-to-thu", "sat-to-mon", "same-uk-day", "fri-2330-to-sat-0030"],
)
def test_working_days_between_in_uk_time(
    machine_zone: str, start: datetime, end: datetime, count: int
) -> None:
    """Counting working days takes both ends' dates in UK time."""
    assert ENG.working_days_between(start, end) == count


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (SATURDAY_0030_BST, False),
        (THURSDAY_2330_BST, True),
        (datetime(2026, 8, 31, 23, 30, tzinfo=UTC), True),
        (datetime(2026, 8, 30, 23, 30, tzinfo=UTC), False),
    ],
    ids=["sat-0030-bst", "thu-2330-bst", "tue-0030-bst", "bank-holiday-0030-bst"],
)
def test_day_of_a_moment_is_its_uk_date(machine_zone: str, moment: datetime, working: bool) -> None:
    """A moment's working day and bank holiday are those of its UK date."""
    assert ENG.is_working_day(moment) is working
    expected = "Late Summer Bank Holiday" if moment.day == 30 else None
    assert ENG.bank_holiday(moment) == expected
    assert ENG.next_working_day(moment) == ENG.next_working_day(moment.astimezone(UK_TIME).date())


def test_bank_holiday_is_named() -> None:
    """A bank holiday is returned by its name; another day has none."""
    assert ENG.bank_holiday(date(2026, 8, 31)) == "Late Summer Bank Holiday"
    assert ENG.bank_holiday(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert ENG.bank_holiday(date(2026, 9, 1)) is None


class _NoOffset(tzinfo):
    """A time zone that cannot say its offset, so its datetimes are not aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_errors_say_what_is_wrong() -> None:
    """Negative amounts and datetimes without an offset are refused in plain words."""
    start = SATURDAY_0030_BST
    with pytest.raises(ValueError, match=r"^the number of working days to add cannot be negative$"):
        ENG.add_working_days(start, -1)
    with pytest.raises(ValueError, match=r"^a timescale cannot be negative$"):
        ENG.add(start, Timescale(-1, TimeUnit.WORKING_DAYS))
    with pytest.raises(ValueError, match=r"^an aware datetime is needed, got "):
        ENG.add(datetime(2026, 6, 5, 12, 0, tzinfo=_NoOffset()), Timescale(1, TimeUnit.HOURS))
    with pytest.raises(ValueError, match=r"^an aware datetime is needed, got "):
        ENG.working_days_between(start, datetime(2026, 6, 5, 12, 0))  # noqa: DTZ001


#: (timescale, fewest calendar days it can span, most calendar days it can span).
BOUNDS = [
    (Timescale(48, TimeUnit.HOURS), 2.0, 2.0),
    (Timescale(10, TimeUnit.CALENDAR_DAYS), 10.0, 10.0),
    (Timescale(1, TimeUnit.WORKING_DAYS), 1.0, 21.0),
    (Timescale(5, TimeUnit.WORKING_DAYS), 5.0, 28.0),
    (Timescale(6, TimeUnit.WORKING_DAYS), 8.0, 28.0),
    (Timescale(20, TimeUnit.WORKING_DAYS), 26.0, 49.0),
    (Timescale(255, TimeUnit.WORKING_DAYS), 355.0, 390.0),
    (Timescale(260, TimeUnit.WORKING_DAYS), 362.0, 397.0),
    (Timescale(2, TimeUnit.WEEKS), 14.0, 14.0),
    (Timescale(1, TimeUnit.MONTHS), 28.0, 32.0),
    (Timescale(3, TimeUnit.MONTHS), 89.0, 93.0),
    (Timescale(6, TimeUnit.MONTHS), 181.0, 185.0),
    (Timescale(12, TimeUnit.MONTHS), 365.0, 366.0),
    (Timescale(14, TimeUnit.MONTHS), 424.0, 429.0),
    (Timescale(0, TimeUnit.MONTHS), 0.0, 0.0),
]


@pytest.mark.parametrize(("timescale", "shortest", "longest"), BOUNDS, ids=str)
def test_timescale_bounds(timescale: Timescale, shortest: float, longest: float) -> None:
    """A timescale's fewest and most calendar days are exactly these, whatever the start."""
    assert (timescale.shortest_days(), timescale.longest_days()) == (shortest, longest)


@pytest.mark.slow
@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney"])
def test_calendar_and_audit_tests_pass_in_another_machine_zone(zone: str) -> None:
    """The calendar and audit tests pass in a process whose local time zone is not UTC."""
    # The child runs no PostgreSQL test, so the parent's demand for one must not reach it.
    unwanted = {"PSIRF_FLOW_REQUIRE_PG", "PSIRF_FLOW_TEST_PG_URL"}
    env = {**{k: v for k, v in os.environ.items() if k not in unwanted}, "TZ": zone}
    files = [
        "tests/policy/test_calendars.py",
        "tests/core/test_audit.py",
        "tests/core/test_audit_v2.py",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
