"""The reassignment and independence guards of a learning response, judged directly (§5 rule 1).

A reassignment names the person it replaces, who must be the one named now, and a new
person who is someone else; a reassignment for ``other`` reasons says why in a note. These
tests compare whole :class:`~psirf_flow.GuardResult` records, so the explanation a caller
is shown is checked with the reason code.
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
NAMED = {"lead_id": "lead-1", "facilitator_id": "fac-1", "engagement_lead_id": "eng-1"}


def judge(
    guard: str,
    payload: Mapping[str, FactValue],
    *,
    before: Mapping[str, FactValue] | None,
    facts: Mapping[str, FactValue] | None = None,
) -> GuardResult:
    """Run ``guard`` on ``payload`` against a case holding ``before`` (``None``: no case).

    ``facts`` are the facts after the command when there is no case before it.
    """
    case = (
        Case(
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
        if before is not None
        else None
    )
    return GUARDS[guard].check(
        GuardInput(
            case=case,
            trigger="reassign",
            actor=Actor("psp-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG),
            role=Role.PATIENT_SAFETY_SPECIALIST,
            facts={**(before or facts or {}), **payload},
            payload=payload,
            now=NOW,
        )
    )


def not_current(guard: str, words: str) -> GuardResult:
    """The refusal of ``guard`` when the person replaced is not the one named now."""
    return GuardResult(
        guard,
        ok=False,
        reason_code="replaced_person_not_current",
        explanation=f"the person to replace is not the current {words}",
    )


def unchanged(guard: str) -> GuardResult:
    """The refusal of ``guard`` when the new person is the one named now."""
    return GuardResult(
        guard,
        ok=False,
        reason_code="replacement_unchanged",
        explanation="the new person is the one already named",
    )


#: (fact, words in the explanation, current id, another id).
ROLES = (
    ("lead_id", "lead", "lead-1", "lead-2"),
    ("facilitator_id", "facilitator", "fac-1", "fac-2"),
    ("engagement_lead_id", "engagement lead", "eng-1", "eng-2"),
)


@pytest.mark.parametrize(("fact", "words", "current", "other"), ROLES)
def test_replacing_the_current_person_with_someone_else_passes(
    fact: str, words: str, current: str, other: str
) -> None:
    """Replacing the person named now (ignoring case) with someone else passes."""
    guard = f"replaces_current_{fact.removesuffix('_id')}"
    del words

    result = judge(guard, {f"replaced_{fact}": current.upper(), fact: other}, before=NAMED)

    assert result == GuardResult(guard, ok=True)


@pytest.mark.parametrize(("fact", "words", "current", "other"), ROLES)
@pytest.mark.parametrize(
    "before", [pytest.param(NAMED, id="someone-else-named"), pytest.param(None, id="no-case")]
)
def test_replacing_someone_not_named_now_is_refused(
    fact: str, words: str, current: str, other: str, before: Mapping[str, FactValue] | None
) -> None:
    """Naming as replaced someone who is not the current person is refused, in the role's words."""
    guard = f"replaces_current_{fact.removesuffix('_id')}"
    del current

    result = judge(guard, {f"replaced_{fact}": other, fact: "new-1"}, before=before)

    assert result == not_current(guard, words)


@pytest.mark.parametrize(("fact", "words", "current", "other"), ROLES)
def test_replacing_someone_with_themselves_is_refused(
    fact: str, words: str, current: str, other: str
) -> None:
    """A new person who is the one named now (ignoring case) is refused as unchanged."""
    guard = f"replaces_current_{fact.removesuffix('_id')}"
    del words, other

    result = judge(guard, {f"replaced_{fact}": current, fact: current.upper()}, before=NAMED)

    assert result == unchanged(guard)


NEEDS_NOTE = GuardResult(
    "reassign_reason_explained",
    ok=False,
    reason_code=REASON_MISSING,
    explanation="a reassignment for another reason needs a note saying what it is",
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"reassign_reason": "other"}, NEEDS_NOTE, id="other-without-note"),
        pytest.param(
            {"reassign_reason": "other", "note": "see the minutes"},
            GuardResult("reassign_reason_explained", ok=True),
            id="other-with-note",
        ),
        pytest.param(
            {"reassign_reason": "conflict_of_interest"},
            GuardResult("reassign_reason_explained", ok=True),
            id="coded-reason",
        ),
    ],
)
def test_a_reassignment_for_another_reason_needs_a_note(
    payload: Mapping[str, FactValue], expected: GuardResult
) -> None:
    """Only a reassignment for ``other`` reasons is refused without a note, with its explanation."""
    assert judge("reassign_reason_explained", payload, before=NAMED) == expected


#: Two staff involved (one id in capitals) and two line managers, both unsorted.
TWO_AND_TWO: Mapping[str, FactValue] = {
    "involved_staff_ids": ("staff-2", "Staff-1"),
    "involved_line_manager_ids": ("mgr-2", "mgr-1"),
}


def test_passing_code_digests_every_line_manager() -> None:
    """The passing code of an independence guard counts and digests two managers, sorted."""
    result = judge("lead_independent", {"lead_id": "lead-9"}, before=None, facts=TWO_AND_TWO)

    assert result == GuardResult(
        "lead_independent", ok=True, reason_code="ok:staff:2+2:d3ea6b1bc42fa337"
    )


def test_team_refusal_names_every_role_in_conflict() -> None:
    """With two roles in conflict, the refusal's code is the first's and it explains both."""
    facts = {**TWO_AND_TWO, "lead_id": "STAFF-1", "engagement_lead_id": "mgr-1"}

    result = judge("team_independent", {}, before=None, facts=facts)

    assert result == GuardResult(
        "team_independent",
        ok=False,
        reason_code="lead_involved_in_incident",
        explanation="the lead is now recorded as involved in the incident: name an "
        "independent lead with reassign_lead; the engagement lead line-manages staff now "
        "recorded as involved: name an independent engagement lead with "
        "reassign_engagement_lead",
    )
