"""Retention review dates: the same calendar date a class's years after the incident (§4.5)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.policy import RetentionClass, RetentionSettings
from psirf_flow.policy.retention import review_date
from psirf_flow.policy.timing import retention_review_date


DEFAULT = RetentionSettings()

#: (incident date, class name in the default settings, review date), worked by hand.
ROWS = [
    (date(2026, 12, 23), "standard", date(2036, 12, 23)),
    (date(2026, 12, 23), "serious", date(2046, 12, 23)),
    (date(2024, 2, 29), "standard", date(2034, 2, 28)),
    (date(2028, 2, 29), "serious", date(2048, 2, 29)),  # 2048 is a leap year
    (date(2026, 12, 25), "standard", date(2036, 12, 25)),  # a holiday stays put
]


@pytest.mark.parametrize(("incident", "name", "expected"), ROWS)
def test_review_date_of_default_classes(incident: date, name: str, expected: date) -> None:
    """The default classes review 10 (standard) and 20 (serious) years after the incident."""
    assert review_date(incident, DEFAULT.classes[name]) == expected


@given(st.dates(date(2000, 1, 1), date(2060, 12, 31)), st.integers(10, 100))
def test_review_date_uses_the_counting_rule(incident: date, years: int) -> None:
    """The review date is the timing module's retention rule for the class's years."""
    got = review_date(incident, RetentionClass(years=years))
    assert got == retention_review_date(incident, years)
    assert (got.year, got.month) == (incident.year + years, incident.month)
    assert got.day == incident.day or (incident.month, incident.day, got.day) == (2, 29, 28)


BAD = [
    (
        lambda: review_date(date(2026, 1, 1), 10),  # type: ignore[arg-type]
        "retention_class must be a RetentionClass",
    ),
    (
        lambda: review_date(datetime(2026, 1, 1), RetentionClass(years=10)),  # noqa: DTZ001
        "incident_date must be a date",
    ),
    (
        lambda: review_date("2026-01-01", RetentionClass(years=10)),  # type: ignore[arg-type]
        "incident_date must be a date",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_review_date_refuses_bad_input(call: object, message: str) -> None:
    """Bad input raises ValueError naming the argument."""
    assert callable(call)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        call()
