"""The pure read-access rule: whose cases a reader may see."""

from __future__ import annotations

import pytest

from psirf_flow.access import may_read, visible_organisations
from psirf_flow.domain import Actor, Reader, Role, SystemReader


OVERSIGHT = {"QWE": frozenset({"RXY", "RAB"})}
ICB = Actor("icb-1", [Role.ICB_OVERSIGHT], "QWE")
ICB_ELSEWHERE = Actor("icb-2", [Role.ICB_OVERSIGHT], "QZZ")
STAFF_AT_ICB = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], "QWE")
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RXY")
JOB = SystemReader("nightly-verify")


@pytest.mark.parametrize(
    ("reader", "visible"),
    [
        (PSS, frozenset({"RXY"})),
        (STAFF_AT_ICB, frozenset({"QWE"})),
        (ICB, frozenset({"QWE", "RXY", "RAB"})),
        (ICB_ELSEWHERE, frozenset({"QZZ"})),
        (JOB, None),
    ],
)
def test_visible_organisations(reader: Reader, visible: frozenset[str] | None) -> None:
    """Own organisation; plus the overseen ones for the ICB oversight role; all for a job."""
    assert visible_organisations(reader, OVERSIGHT) == visible


@pytest.mark.parametrize(
    ("reader", "organisation", "allowed"),
    [
        (PSS, "RXY", True),
        (PSS, "RAB", False),
        (STAFF_AT_ICB, "RXY", False),
        (ICB, "RAB", True),
        (ICB, "QWE", True),
        (ICB, "RZZ", False),
        (ICB_ELSEWHERE, "RXY", False),
        (JOB, "RZZ", True),
    ],
)
def test_may_read(reader: Reader, organisation: str, allowed: bool) -> None:
    """A reader may read an organisation's cases exactly when the rule lists it."""
    assert may_read(reader, organisation, OVERSIGHT) is allowed
