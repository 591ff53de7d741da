"""Engagement recorded per person, not one outcome per response (§7.1; issue 9 item 10)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from psirf_flow import Actor, Engine, GuardFailed, InMemoryStore, InvalidPayload, Role
from psirf_flow.domain import FactValue
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import GUARDS, GuardInput
from psirf_flow.workflows.learning_response import PSII
from psirf_flow.workflows.learning_response.guards import engagement_records


ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
ENG = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)


@pytest.fixture(name="engine")
def _engine() -> Engine:
    return Engine(InMemoryStore(), clock=ManualClock())


def _planning(engine: Engine) -> str:
    engine.open("psii", actor=PSS, case_id="LR-1", payload={"incident_ids": ["INC-1"]})
    engine.fire(
        "LR-1",
        "assign_lead",
        actor=PSS,
        payload={"lead_id": "inv-07", "engagement_lead_id": "eng-03"},
    )
    return "LR-1"


def _engage(engine: Engine, person: str, kind: str, outcome: str, **more: object) -> None:
    engine.fire(
        "LR-1",
        "record_engagement",
        actor=ENG,
        payload={"person_id": person, "person_kind": kind, "engagement": outcome, **more},
    )


def _judge(name: str, facts: Mapping[str, FactValue]) -> tuple[bool, str]:
    result = GUARDS[name].check(
        GuardInput(
            case=None,
            trigger="t",
            actor=LEAD,
            role=Role.LEARNING_RESPONSE_LEAD,
            facts=facts,
            payload={},
        )
    )
    return result.ok, result.reason_code


class TestRecords:
    """One record per person, with contact preference and support offered."""

    def test_each_person_keeps_their_own_record(self, engine: Engine) -> None:
        """§7.1: the patient, a family member and staff involved each have a record."""
        _planning(engine)
        _engage(engine, "pat-1", "patient", "declined", contact_preference="no_further_contact")
        _engage(
            engine,
            "fam-2",
            "family_member",
            "involved",
            contact_preference="telephone",
            support_offered=True,
        )
        _engage(engine, "staff-3", "staff_involved", "involved", support_offered=True)

        facts = engine.store.load("LR-1").facts

        assert facts["engaged_person_ids"] == ("fam-2", "pat-1", "staff-3")
        assert (facts["engagement.pat-1"], facts["contact_preference.pat-1"]) == (
            "declined",
            "no_further_contact",
        )
        assert (facts["engagement.fam-2"], facts["support_offered.fam-2"]) == ("involved", True)
        assert facts["person_kind.staff-3"] == "staff_involved"
        assert "engagement" not in facts
        assert "person_id" not in facts

    def test_a_later_record_for_a_person_updates_theirs_only(self, engine: Engine) -> None:
        """Uncontactable, then reached: the person's outcome changes; others' do not."""
        _planning(engine)
        _engage(engine, "pat-1", "patient", "uncontactable", contact_attempts=2)
        _engage(engine, "fam-2", "family_member", "declined")
        _engage(engine, "pat-1", "patient", "involved")

        facts = engine.store.load("LR-1").facts

        assert facts["engagement.pat-1"] == "involved"
        assert facts["contact_attempts.pat-1"] == 2
        assert facts["engagement.fam-2"] == "declined"
        assert facts["engaged_person_ids"] == ("fam-2", "pat-1")

    def test_a_name_is_not_a_person_id(self, engine: Engine) -> None:
        """§7.2: opaque ids only; an NHS number is refused as a person id."""
        _planning(engine)

        with pytest.raises(InvalidPayload):
            _engage(engine, "943 476 5919", "patient", "involved")

    def test_the_step_is_keyed_by_the_person(self) -> None:
        """The definition declares the keyed record and its index."""
        spec = PSII.transition("record_engagement")

        assert spec is not None
        assert (spec.record_key, spec.record_index) == ("person_id", "engaged_person_ids")


ROWS = [
    # facts, engagement_outcome_recorded, family_draft_review_recorded (no draft response)
    ({}, (False, "engagement_outcome_missing"), (False, "family_draft_review_missing")),
    (
        {
            "engaged_person_ids": ("staff-3",),
            "person_kind.staff-3": "staff_involved",
            "engagement.staff-3": "declined",
        },
        (False, "engagement_outcome_missing"),
        (False, "family_draft_review_missing"),
    ),
    (
        {
            "engaged_person_ids": ("pat-1",),
            "person_kind.pat-1": "patient",
            "engagement.pat-1": "declined",
        },
        (True, "ok"),
        (True, "ok"),
    ),
    (
        {
            "engaged_person_ids": ("fam-2", "pat-1"),
            "person_kind.pat-1": "patient",
            "engagement.pat-1": "declined",
            "person_kind.fam-2": "family_member",
            "engagement.fam-2": "involved",
        },
        (True, "ok"),
        (False, "family_draft_review_missing"),
    ),
    (
        {
            "engaged_person_ids": ("fam-2",),
            "person_kind.fam-2": "family_member",
            "engagement.fam-2": "uncontactable",
        },
        (False, "contact_attempts_missing"),
        (True, "ok"),
    ),
    (
        {
            "engaged_person_ids": ("fam-2",),
            "person_kind.fam-2": "family_member",
            "engagement.fam-2": "uncontactable",
            "contact_attempts.fam-2": 1,
        },
        (True, "ok"),
        (True, "ok"),
    ),
    # A case recorded before engagement was kept per person: its one outcome still counts.
    ({"family_engagement": "involved"}, (True, "ok"), (False, "family_draft_review_missing")),
]


@pytest.mark.parametrize(("facts", "outcome", "draft"), ROWS)
def test_guards_read_the_per_person_records(
    facts: Mapping[str, FactValue], outcome: tuple[bool, str], draft: tuple[bool, str]
) -> None:
    """§6, §7.1: patient or family records decide; staff records do not stand in for them."""
    assert _judge("engagement_outcome_recorded", facts) == outcome
    assert _judge("family_draft_review_recorded", facts) == draft


def test_records_read_back_per_person() -> None:
    """engagement_records gives (kind, outcome, attempts) per person."""
    facts: dict[str, FactValue] = {
        "engaged_person_ids": ("pat-1",),
        "person_kind.pat-1": "patient",
        "engagement.pat-1": "uncontactable",
        "contact_attempts.pat-1": 3,
    }
    g = GuardInput(
        case=None,
        trigger="t",
        actor=LEAD,
        role=Role.LEARNING_RESPONSE_LEAD,
        facts=facts,
        payload={},
    )

    assert engagement_records(g) == {"pat-1": ("patient", "uncontactable", 3)}


def test_records_without_attempts_read_zero_attempts() -> None:
    """engagement_records gives 0 attempts for a person with none recorded, None for no kind."""
    facts: dict[str, FactValue] = {
        "engaged_person_ids": ("pat-1", "fam-1"),
        "person_kind.pat-1": "patient",
        "engagement.pat-1": "involved",
        "engagement.fam-1": "declined",
    }
    g = GuardInput(
        case=None,
        trigger="t",
        actor=LEAD,
        role=Role.LEARNING_RESPONSE_LEAD,
        facts=facts,
        payload={},
    )

    assert engagement_records(g) == {
        "pat-1": ("patient", "involved", 0),
        "fam-1": (None, "declined", 0),
    }


def test_staff_engagement_alone_does_not_allow_approval_request(engine: Engine) -> None:
    """A PSII whose only engagement record is a member of staff cannot ask for approval."""
    _planning(engine)
    _engage(engine, "staff-3", "staff_involved", "involved")
    engine.fire(
        "LR-1",
        "record_terms_of_reference",
        actor=LEAD,
        payload={"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    )
    for trigger, payload in (
        ("begin_gathering", {}),
        ("complete_analysis", {}),
        ("submit_draft", {"draft_ref": "D-1"}),
    ):
        engine.fire("LR-1", trigger, actor=LEAD, payload=payload)

    with pytest.raises(GuardFailed) as refused:
        engine.fire("LR-1", "request_approval", actor=LEAD)

    assert "engagement_outcome_missing" in [f.reason_code for f in refused.value.failures]
