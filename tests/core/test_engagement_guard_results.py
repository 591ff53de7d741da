"""The PSII timescale guards' whole results when something is missing (psirf-rules §4.1, §5).

A dated guard refuses before comparing anything when the response has not started or no
date is given; a date is checked against today only when the decision's time is known; an
extension the family did not agree to needs a note. These tests compare whole
:class:`~psirf_flow.GuardResult` records, explanations included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from psirf_flow import Actor, GuardResult, Role
from psirf_flow.domain import Case, FactValue
from psirf_flow.errors import REASON_MISSING
from psirf_flow.workflows import GUARDS, GuardInput


ORG = "RX1"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
STARTED: Mapping[str, FactValue] = {"lead_id": "lead-1", "started_on": "2026-01-05"}


def judge(
    guard: str,
    before: Mapping[str, FactValue],
    payload: Mapping[str, FactValue],
    *,
    now: datetime | None = NOW,
) -> GuardResult:
    """Run ``guard`` with ``payload`` against a PSII holding ``before``, as the executive."""
    case = Case(
        id="LR-1",
        workflow="psii",
        workflow_version="1",
        organisation=ORG,
        state="planning",
        version=2,
        facts=before,
        opened_at=NOW,
        updated_at=NOW,
    )
    return GUARDS[guard].check(
        GuardInput(
            case=case,
            trigger="test",
            actor=Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG),
            role=Role.EXECUTIVE_LEAD,
            facts={**before, **payload},
            payload=payload,
            now=now,
        )
    )


#: (guard, the fact holding its date).
DATED = (
    ("target_within_timescale", "target_date"),
    ("extension_later_than_target", "target_date"),
    ("extension_within_hard_cap", "target_date"),
    ("override_beyond_hard_cap", "target_date"),
    ("request_later_than_target", "requested_target_date"),
    ("request_within_hard_cap", "requested_target_date"),
)
NOT_STARTED = "the response has not started (no lead has been assigned), so it has no timescale yet"


@pytest.mark.parametrize(("guard", "fact"), DATED)
def test_a_dated_guard_needs_the_clock(guard: str, fact: str) -> None:
    """Before the lead is assigned a dated guard refuses as ``clock_not_started``."""
    assert judge(guard, {"lead_id": "lead-1"}, {fact: "2026-04-01"}) == GuardResult(
        guard, ok=False, reason_code="clock_not_started", explanation=NOT_STARTED
    )


@pytest.mark.parametrize(("guard", "fact"), DATED)
def test_a_dated_guard_needs_the_date(guard: str, fact: str) -> None:
    """Once started, a dated guard given no date refuses as ``target_date_missing``."""
    del fact
    assert judge(guard, STARTED, {}) == GuardResult(
        guard,
        ok=False,
        reason_code="target_date_missing",
        explanation="no target date has been given",
    )


@pytest.mark.parametrize(
    ("guard", "fact"),
    [("target_not_in_past", "target_date"), ("request_not_in_past", "requested_target_date")],
)
@pytest.mark.parametrize(
    ("day", "now", "expected"),
    [
        pytest.param("2026-03-02", NOW, (True, "ok", ""), id="today"),
        pytest.param(
            "2026-03-01",
            NOW,
            (False, "target_in_past", "the date 2026-03-01 is already past (today is 2026-03-02)"),
            id="yesterday",
        ),
        pytest.param(
            "2026-03-02",
            None,
            (
                False,
                "decision_time_unknown",
                "the time of the decision is not known, so the date cannot be checked",
            ),
            id="no-time",
        ),
        pytest.param(
            None,
            NOW,
            (False, "target_date_missing", "no target date has been given"),
            id="no-date",
        ),
    ],
)
def test_a_date_is_not_before_today(
    guard: str, fact: str, day: str | None, now: datetime | None, expected: tuple[bool, str, str]
) -> None:
    """A date today passes; earlier, without the time or without a date it is refused."""
    payload: dict[str, FactValue] = {} if day is None else {fact: day}
    ok, code, explanation = expected

    assert judge(guard, STARTED, payload, now=now) == GuardResult(
        guard, ok=ok, reason_code=code, explanation=explanation
    )


@pytest.mark.parametrize(
    ("position", "payload", "expected"),
    [
        pytest.param(
            "not_agreed",
            {},
            GuardResult(
                "family_disagreement_explained",
                ok=False,
                reason_code=REASON_MISSING,
                explanation="the family did not agree to the extension, so approving it "
                "needs a note saying why",
            ),
            id="not-agreed-no-note",
        ),
        pytest.param(
            "not_agreed",
            {"note": "the coroner's inquest is listed later"},
            GuardResult("family_disagreement_explained", ok=True),
            id="not-agreed-with-note",
        ),
        pytest.param(
            "agreed", {}, GuardResult("family_disagreement_explained", ok=True), id="agreed"
        ),
    ],
)
def test_approving_against_the_family_needs_a_note(
    position: str, payload: Mapping[str, FactValue], expected: GuardResult
) -> None:
    """Approving an extension the family did not agree to is refused without a note."""
    before = {**STARTED, "family_extension_position": position}

    assert judge("family_disagreement_explained", before, payload) == expected
