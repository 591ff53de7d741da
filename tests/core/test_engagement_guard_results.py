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
from psirf_flow.policy import load_national_rules, load_plan
from psirf_flow.policy.governance import Governance
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
    workflow: str | None = "psii",
    governance: Governance | None = None,
) -> GuardResult:
    """Run ``guard`` with ``payload`` against a case of ``workflow`` holding ``before``.

    ``workflow=None`` judges without a case (the facts are ``before`` and ``payload``).
    """
    case = Case(
        id="LR-1",
        workflow=workflow or "psii",
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
            case=case if workflow is not None else None,
            trigger="test",
            actor=Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG),
            role=Role.EXECUTIVE_LEAD,
            facts={**before, **payload},
            payload=payload,
            now=now,
            governance=governance,
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


PENDING: Mapping[str, FactValue] = {**STARTED, "requested_target_date": "2026-05-01"}
#: Refusals with their whole explanation: guard, facts before, payload, code, explanation.
REFUSALS: tuple[tuple[str, Mapping[str, FactValue], Mapping[str, FactValue], str, str], ...] = (
    (
        "extension_pending",
        STARTED,
        {},
        "no_extension_requested",
        "no extension has been requested by the lead, or the last request was decided",
    ),
    (
        "family_position_recorded",
        PENDING,
        {},
        "family_position_missing",
        "the family's position on the requested extension has not been recorded by the "
        "engagement lead",
    ),
    (
        "family_not_involved_reason_given",
        PENDING,
        {"family_extension_position": "not_involved"},
        REASON_MISSING,
        "the family is recorded as not involved, so the reason code is needed",
    ),
    (
        "override_beyond_hard_cap",
        STARTED,
        {"target_date": "2026-07-06"},
        "hard_cap_not_exceeded",
        "the new target date 2026-07-06 is within the hard cap (2026-07-06 at the latest), "
        "so it needs an ordinary extension, not a hard-cap override",
    ),
    (
        "target_within_timescale",
        STARTED,
        {"target_date": "2026-07-07"},
        "target_beyond_hard_cap",
        "the target date 2026-07-07 is beyond the hard cap (6 months from the start on "
        "2026-01-05, so 2026-07-06 at the latest); only the executive lead's hard-cap "
        "override can go beyond it",
    ),
    (
        "target_within_timescale",
        STARTED,
        {"target_date": "2026-04-08"},
        "target_beyond_timescale",
        "the target date 2026-04-08 is beyond the plan's timescale (3 months from the start "
        "on 2026-01-05, so 2026-04-07 at the latest); an extension approved by the executive "
        "lead is needed",
    ),
    (
        "extension_within_hard_cap",
        STARTED,
        {"target_date": "2026-07-07"},
        "hard_cap_exceeded",
        "the new target date 2026-07-07 is beyond the hard cap (6 months from the start on "
        "2026-01-05, so 2026-07-06 at the latest); it needs the executive lead's hard-cap "
        "override with a reason",
    ),
)


@pytest.mark.parametrize(("guard", "before", "payload", "code", "explanation"), REFUSALS)
def test_refusals_explain_themselves(
    guard: str,
    before: Mapping[str, FactValue],
    payload: Mapping[str, FactValue],
    code: str,
    explanation: str,
) -> None:
    """Each timescale refusal gives its code and its whole explanation, dates included."""
    assert judge(guard, before, payload) == GuardResult(
        guard, ok=False, reason_code=code, explanation=explanation
    )


def test_without_a_case_no_extension_is_pending() -> None:
    """Judged without a case (nothing before the command), no extension is pending."""
    assert judge("extension_pending", PENDING, {}, workflow=None) == GuardResult(
        "extension_pending",
        ok=False,
        reason_code="no_extension_requested",
        explanation="no extension has been requested by the lead, or the last request was decided",
    )


PLAN = """
schema = 1

[plan]
id = "rxy-psirp"
version = "1.0"
organisation = "RX1"
effective_from = 2026-01-01
review_date = 2027-12-31

[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
timescale = { amount = 1, unit = "months" }

[response_types.rapid_psii]
maps_to = "psii"
title = "Rapid PSII"
sign_off = [{ role = "executive_lead" }]
timescale = { amount = 2, unit = "months" }
"""
GOVERNANCE = Governance(plan=load_plan(PLAN, source="test-plan"), rules=load_national_rules())


@pytest.mark.parametrize(
    ("workflow", "last_ok"),
    [
        pytest.param(None, "2026-02-05", id="no-case-reads-psii"),
        pytest.param("psii", "2026-02-05", id="psii"),
        pytest.param("rapid_psii", "2026-03-05", id="case-workflow"),
    ],
)
def test_the_case_workflow_names_the_plan_type(workflow: str | None, last_ok: str) -> None:
    """Without a ``response_type`` fact the case's workflow (else ``psii``) picks the timescale."""
    within = judge(
        "target_within_timescale",
        STARTED,
        {"target_date": last_ok},
        workflow=workflow,
        governance=GOVERNANCE,
    )
    after = judge(
        "target_within_timescale",
        STARTED,
        {"target_date": f"{last_ok[:-2]}06"},
        workflow=workflow,
        governance=GOVERNANCE,
    )

    assert within == GuardResult("target_within_timescale", ok=True)
    assert (after.ok, after.reason_code) == (False, "target_beyond_timescale")
