"""The duty-of-candour guards at their edges: no decision time, no case, awareness dates.

The lateness guards (psirf-rules §4.2, "record the reason for any delay") and
``aware_not_in_future`` compare Europe/London dates with the decision's ``now``; these
tests judge them directly, comparing whole :class:`~psirf_flow.GuardResult` records, where
the lifecycle tests only see the reason codes of a refused command.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from psirf_flow import Actor, GuardResult, Role
from psirf_flow.domain import Case, FactValue
from psirf_flow.workflows import GUARDS, GuardInput


ORG = "RX1"
#: 23:30 UTC on 1 July 2026 is 00:30 on 2 July in Europe/London (British Summer Time).
LATE_EVENING = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)


def case(facts: Mapping[str, FactValue]) -> Case:
    """A duty-of-candour case opened on 1 June 2026 holding ``facts``."""
    opened = datetime(2026, 6, 1, 9, tzinfo=UTC)
    return Case(
        id="DC-1",
        workflow="duty_of_candour",
        workflow_version="1",
        organisation=ORG,
        state="verbal_notification_due",
        version=2,
        facts=facts,
        opened_at=opened,
        updated_at=opened,
    )


def judge(
    guard: str,
    facts: Mapping[str, FactValue],
    *,
    before: Case | None,
    now: datetime | None,
    payload: Mapping[str, FactValue] | None = None,
) -> GuardResult:
    """Run the registered guard ``guard`` on ``facts`` with the case ``before`` at ``now``."""
    return GUARDS[guard].check(
        GuardInput(
            case=before,
            trigger="test",
            actor=Actor("hcp-1", [Role.HEALTH_CARE_PROFESSIONAL], ORG),
            role=Role.HEALTH_CARE_PROFESSIONAL,
            facts=facts,
            payload=payload or {},
            now=now,
        )
    )


LATENESS_GUARDS = (
    "verbal_delay_explained",
    "written_delay_explained",
    "results_delay_explained",
)
NO_TIME = "the time of the decision is not known, so lateness cannot be checked"


@pytest.mark.parametrize("guard", LATENESS_GUARDS)
@pytest.mark.parametrize(
    ("before", "now"),
    [
        pytest.param(None, LATE_EVENING, id="no-case"),
        pytest.param(case({}), None, id="no-time"),
        pytest.param(None, None, id="neither"),
    ],
)
def test_lateness_cannot_be_checked_without_the_case_and_the_time(
    guard: str, before: Case | None, now: datetime | None
) -> None:
    """A lateness guard refuses as ``decision_time_unknown`` without the case or the time."""
    assert judge(guard, {}, before=before, now=now) == GuardResult(
        guard, ok=False, reason_code="decision_time_unknown", explanation=NO_TIME
    )


AWARE_IN_FUTURE = (
    "the organisation cannot have become aware on 2026-07-03, after today (2026-07-02)"
)


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [
        pytest.param({}, LATE_EVENING, GuardResult("aware_not_in_future", ok=True), id="no-date"),
        pytest.param({}, None, GuardResult("aware_not_in_future", ok=True), id="no-date-no-time"),
        pytest.param(
            {"aware_on": "2026-07-02"},
            LATE_EVENING,
            GuardResult("aware_not_in_future", ok=True),
            id="today-in-london",
        ),
        pytest.param(
            {"aware_on": "2026-06-30"},
            LATE_EVENING,
            GuardResult("aware_not_in_future", ok=True),
            id="earlier",
        ),
        pytest.param(
            {"aware_on": "2026-07-03"},
            LATE_EVENING,
            GuardResult(
                "aware_not_in_future",
                ok=False,
                reason_code="aware_in_future",
                explanation=AWARE_IN_FUTURE,
            ),
            id="tomorrow-in-london",
        ),
        pytest.param(
            {"aware_on": "2026-07-02"},
            None,
            GuardResult(
                "aware_not_in_future",
                ok=False,
                reason_code="decision_time_unknown",
                explanation="the time of the decision is not known, so the awareness date "
                "cannot be checked",
            ),
            id="no-time",
        ),
    ],
)
def test_awareness_is_not_after_today_in_london(
    facts: Mapping[str, FactValue], now: datetime | None, expected: GuardResult
) -> None:
    """``aware_not_in_future`` passes for no date, today or earlier (London), else says why."""
    assert judge("aware_not_in_future", facts, before=None, now=now) == expected
