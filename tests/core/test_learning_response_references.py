"""The candour guards that look at the learning response a case names, field by field.

Duty of candour cases name the learning response whose findings they share (reg 20(4)(c);
psirf-rules §9.3, §9.4). The response must exist in the case's own organisation, be a
learning response, be approved or later and share an incident with the case. Each row gives
the exact :class:`GuardResult` both guards that read it must return.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from psirf_flow.domain import Actor, Case, FactValue, GuardResult, Role
from psirf_flow.workflows import GUARDS, GuardInput
from psirf_flow.workflows.guards import CaseSummary


ORG = "RX1"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
FACTS: dict[str, FactValue] = {"learning_response_id": "LR-1", "incident_ids": ("INC-1",)}


def summary(**changes: object) -> CaseSummary:
    """An approved learning response of ``ORG`` on incident INC-1, with ``changes``."""
    values: dict[str, object] = {
        "id": "LR-1",
        "workflow": "psii",
        "family": "learning_response",
        "state": "approved",
        "organisation": ORG,
        "incident_ids": ("INC-1",),
    }
    values.update(changes)
    return CaseSummary(**values)  # type: ignore[arg-type]


def check(
    guard: str,
    ref: CaseSummary | None,
    *,
    facts: Mapping[str, FactValue] = FACTS,
    case_organisation: str | None = ORG,
    actor_organisation: str = ORG,
) -> GuardResult:
    """Run ``guard`` on a case of ``case_organisation`` (none: opening) naming ``ref``."""
    case = (
        None
        if case_organisation is None
        else Case(
            id="DOC-1",
            workflow="duty_of_candour",
            workflow_version="1",
            organisation=case_organisation,
            state="results_due",
            version=4,
            facts=facts,
            opened_at=NOW,
            updated_at=NOW,
        )
    )
    return GUARDS[guard].check(
        GuardInput(
            case=case,
            trigger="test",
            actor=Actor("exec-1", list(Role), actor_organisation),
            role=Role.EXECUTIVE_LEAD,
            facts=facts,
            payload={},
            now=NOW,
            references={} if ref is None else {"LR-1": ref},
        )
    )


MISSING = ("no_such_learning_response", "there is no such learning response")
OTHER_INCIDENT = (
    "learning_response_other_incident",
    "the learning response is not linked to this case's incident",
)

ROWS = [
    pytest.param(summary(), None, id="approved-same-incident"),
    pytest.param(summary(state="shared"), None, id="shared"),
    pytest.param(summary(state="closed"), None, id="closed"),
    pytest.param(None, MISSING, id="missing"),
    pytest.param(summary(organisation="RX2"), MISSING, id="other-organisation"),
    pytest.param(summary(family="psii"), MISSING, id="not-a-learning-response"),
    pytest.param(
        summary(state="report_in_review"),
        (
            "learning_response_not_approved",
            "the learning response is report in review, not yet approved",
        ),
        id="not-approved",
    ),
    pytest.param(summary(incident_ids=("INC-9",)), OTHER_INCIDENT, id="other-incident"),
    pytest.param(summary(incident_ids=()), OTHER_INCIDENT, id="no-incident"),
]


@pytest.mark.parametrize(("ref", "problem"), ROWS)
def test_approved_for_incident(ref: CaseSummary | None, problem: tuple[str, str] | None) -> None:
    """The named response must be this organisation's approved response on the incident."""
    name = "learning_response_approved_for_incident"
    expected = (
        GuardResult(name, True, "ok", "") if problem is None else GuardResult(name, False, *problem)
    )

    assert check(name, ref) == expected


@pytest.mark.parametrize(("ref", "problem"), ROWS)
def test_findings_available_from_a_named_response(
    ref: CaseSummary | None, problem: tuple[str, str] | None
) -> None:
    """Naming a response makes its approval the source of findings, with the same reasons."""
    facts = {**FACTS, "learning_response_approved_ref": "LR-1"}
    expected = (
        GuardResult("findings_available", True, "ok", "")
        if problem is None
        else GuardResult("findings_available", False, *problem)
    )

    assert check("findings_available", ref, facts=facts) == expected


def test_the_case_organisation_decides_not_the_actor() -> None:
    """The response must belong to the case's organisation, whoever is asking."""
    name = "learning_response_approved_for_incident"

    assert check(name, summary(), actor_organisation="RX2") == GuardResult(name, True, "ok", "")
    assert check(name, summary(organisation="RX2"), actor_organisation="RX2") == GuardResult(
        name, False, *MISSING
    )


def test_when_opening_the_actor_organisation_decides() -> None:
    """Before a case exists, the response must belong to the actor's organisation."""
    name = "learning_response_approved_for_incident"

    assert check(name, summary(), case_organisation=None) == GuardResult(name, True, "ok", "")
    assert check(name, summary(), case_organisation=None, actor_organisation="RX2") == (
        GuardResult(name, False, *MISSING)
    )


def test_case_summary_of_copies_every_field() -> None:
    """``CaseSummary.of`` keeps the case's id, workflow, state, organisation, incidents, facts."""
    case = Case(
        id="LR-7",
        workflow="pir",
        workflow_version="2",
        organisation=ORG,
        state="approved",
        version=5,
        facts={"incident_ids": ("INC-2", "INC-1"), "incident_id": "INC-3"},
        opened_at=NOW,
        updated_at=NOW,
    )

    assert CaseSummary.of(case, "learning_response") == CaseSummary(
        id="LR-7",
        workflow="pir",
        family="learning_response",
        state="approved",
        organisation=ORG,
        incident_ids=("INC-1", "INC-2", "INC-3"),
        facts={"incident_ids": ("INC-2", "INC-1"), "incident_id": "INC-3"},
    )
