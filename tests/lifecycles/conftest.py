"""Fixtures shared by the lifecycle tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from psirf_flow import Actor, Engine, Role
from psirf_flow.domain import SystemReader


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RXY"
CAST = {
    "pss": Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG),
    "lead": Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG),
    "engagement": Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG),
    "reviewer": Actor("rev-05", [Role.PEER_REVIEWER], ORG),
    "senior": Actor("sl-08", [Role.SENIOR_LEADER], ORG),
    "exec": Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG),
}


def _choice(engine: Engine, case_id: str, trigger: str, field: str) -> str:
    spec = engine.definition_for(engine.get(case_id, reader=READER)).transition(trigger)
    assert spec is not None
    return next(f.choices[0] for f in spec.fields if f.name == field)


def _with_required(
    engine: Engine, case_id: str, trigger: str, payload: Mapping[str, object]
) -> dict[str, object]:
    """``payload`` plus the first choice of any further required choice field."""
    spec = engine.definition_for(engine.get(case_id, reader=READER)).transition(trigger)
    assert spec is not None
    full = dict(payload)
    for field in spec.fields:
        if field.required and field.name not in full and field.choices:
            full[field.name] = field.choices[0]
    return full


@pytest.fixture(name="psii_to_approval")
def _psii_to_approval(engine: Engine) -> Callable[[str], None]:
    """Take a commissioned PSII through planning, review and approval."""

    def run(case_id: str) -> None:
        steps: list[tuple[str, str, dict[str, object]]] = [
            ("pss", "assign_lead", {"lead_id": "inv-07", "engagement_lead_id": "eng-03"}),
            ("lead", "record_terms_of_reference", {"terms_of_reference_ref": "TOR-1"}),
            (
                "engagement",
                "record_engagement",
                {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
            ),
            ("lead", "begin_gathering", {}),
            ("lead", "complete_analysis", {}),
            ("lead", "submit_draft", {"draft_ref": "DRAFT-1"}),
            ("reviewer", "record_peer_review", {"peer_review_ref": "PR-1"}),
            ("lead", "record_expert_input", {"expert_input": "panel", "expert_ids": ["sme-1"]}),
            ("lead", "record_staff_accuracy_check", {"staff_accuracy_check": "confirmed"}),
            ("engagement", "record_family_draft_response", {"family_draft_response": "commented"}),
            ("senior", "agree_findings", {}),
            ("lead", "request_approval", {}),
            ("exec", "approve", {"report_ref": "REPORT-1"}),
        ]
        for who, trigger, payload in steps:
            engine.fire(
                case_id,
                trigger,
                actor=CAST[who],
                payload=_with_required(engine, case_id, trigger, payload),
            )

    return run


@pytest.fixture(name="choice")
def _choice_fixture(engine: Engine) -> Callable[[str, str, str], str]:
    """The first allowed code of a choice field of a case's trigger."""
    return lambda case_id, trigger, field: _choice(engine, case_id, trigger, field)
