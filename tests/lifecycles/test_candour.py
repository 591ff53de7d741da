"""The duty-of-candour lifecycle (England, regulation 20) driven through the real engine.

Every test cites the paragraph of regulation 20 (psirf-rules §4.2, §9.3) or the design rule
it checks. The harm tables are typed out by hand from reg 20(7)-(8), not derived from the
library's own mapping, so a change to the mapping that is not also made here fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow import (
    Actor,
    Case,
    DefinitionRegistry,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    ReservedIdentity,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import FactValue, SystemReader
from psirf_flow.testing import ManualClock, engine_state_machine
from psirf_flow.workflows import (
    DUTY_OF_CANDOUR,
    GUARDS,
    LEARNING_RESPONSES,
    GuardInput,
    build_duty_of_candour,
)
from psirf_flow.workflows.candour import (
    DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE,
    HARM_CATEGORIES,
    LEARNING_RESPONSE_APPROVED,
    is_notifiable_harm,
)


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
HCP = Actor("hcp-1", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
ENG = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)

VERBAL = {
    "in_person": True,
    "facts_given": True,
    "further_enquiries_explained": True,
    "apology_given": True,
    "support_offered": True,
    "verbal_record_ref": "DOC-VERBAL-1",
    "relevant_person_basis": "patient",
}
WRITTEN = {
    "facts_included": True,
    "enquiries_included": True,
    "results_to_date_included": True,
    "apology_included": True,
    "written_copy_ref": "DOC-LETTER-1",
    "written_delivery": "post",
}
APPROVED = {"learning_response_id": "LR-1", "learning_response_approved_ref": "DOC-REPORT-1"}
FINDINGS = {"results_letter_ref": "DOC-RESULTS-1", "results_delivery": "post"}


def determination(harm: str, **extra: object) -> dict[str, object]:
    """A determination payload for ``harm`` (appears to have resulted)."""
    return {"harm_category": harm, "harm_basis": "appears_to_have_resulted", **extra}


def not_notifiable(harm: str, reason: str = "harm_below_threshold") -> dict[str, object]:
    """A not-notifiable determination payload."""
    return determination(harm, not_notifiable_reason=reason)


def attempt(number: int, outcome: str = "no_response") -> dict[str, object]:
    """A contact attempt payload."""
    return {"contact_attempts": number, "contact_method": "telephone", "contact_outcome": outcome}


#: A facilitated learning response's main path, (actor, trigger, payload) per step, with
#: the state each step reaches (psirf-rules §9.1).
SWARM_PATH: tuple[tuple[str, str, Mapping[str, object], str], ...] = (
    ("pss", "assign_facilitator", {"facilitator_id": "fac-1"}, "planning"),
    ("fac", "begin_gathering", {}, "gathering_and_analysis"),
    ("fac", "complete_analysis", {}, "drafting"),
    ("fac", "submit_draft", {"draft_ref": "DRAFT-1"}, "review"),
    ("senior", "agree_findings", {}, "review"),
    ("fac", "request_approval", {}, "awaiting_approval"),
    ("senior", "approve", {"report_ref": "DOC-REPORT-1"}, "approved"),
)


def learning_response(
    engine: Engine,
    case_id: str = "LR-1",
    *,
    incident: str = "INC-1",
    organisation: str = ORG,
    state: str = "approved",
) -> str:
    """Open a swarm huddle linked to ``incident`` and drive it to ``state``; return its id."""
    people = {
        "pss": Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], organisation),
        "fac": Actor("fac-1", [Role.FACILITATOR], organisation),
        "senior": Actor("sl-1", [Role.SENIOR_LEADER], organisation),
    }
    engine.open(
        "swarm_huddle", actor=people["pss"], case_id=case_id, payload={"incident_ids": [incident]}
    )
    reached = "commissioned"
    for who, trigger, payload, then in SWARM_PATH:
        if reached == state:
            break
        engine.fire(case_id, trigger, actor=people[who], payload=payload)
        reached = then
    assert engine.get(case_id, reader=READER).state == state
    return case_id


class Driver:
    """Opens candour cases and moves them through the engine, an hour per step.

    The store holds an approved learning response ``LR-1`` linked to the incident, which
    ``APPROVED`` names.
    """

    def __init__(self, engine: Engine, clock: ManualClock) -> None:
        self.engine = engine
        self.clock = clock
        learning_response(engine)

    def open(self) -> str:
        """Open a case in ``assessing`` and return its id."""
        opened = self.engine.open(
            "duty_of_candour",
            actor=PSS,
            payload={
                "incident_ids": ["INC-1"],
                "screening_basis": "harm_recorded_moderate_or_above",
            },
        )
        return opened.case.id

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> Case:
        """Fire one trigger an hour after the previous one."""
        self.clock.advance(timedelta(hours=1))
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def at(self, state: str) -> str:
        """Open a case and move it to ``state`` along the main path."""
        case_id = self.open()
        steps: tuple[tuple[str, Actor, Mapping[str, object]], ...] = (
            ("determine_notifiable", HCP, determination("moderate")),
            ("record_verbal_notification", HCP, VERBAL),
            ("record_written_notification", ENG, WRITTEN),
            ("record_findings_shared", ENG, FINDINGS),
        )
        order = ("assessing", "verbal_due", "written_due", "results_due", "complete")
        for (trigger, actor, payload), reached in zip(steps, order[1:], strict=True):
            if order.index(state) < order.index(reached):
                break
            if trigger == "record_findings_shared":
                self.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)
            self.fire(case_id, trigger, actor, payload)
        assert self.engine.get(case_id, reader=READER).state == state
        return case_id


@pytest.fixture(name="driver")
def _driver(clock: ManualClock) -> Driver:
    return Driver(Engine(InMemoryStore(), clock=clock), clock)


@pytest.fixture(name="local_driver")
def _local_driver(clock: ManualClock) -> Driver:
    registry = DefinitionRegistry(
        [DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE, LEARNING_RESPONSES["swarm_huddle"]]
    )
    return Driver(Engine(InMemoryStore(), clock=clock, definitions=registry), clock)


# Reg 20(7)-(8) by hand: harm -> (notifiable nationally, notifiable under a low-harm plan).
HARM_TABLE = {
    "none": (False, False),
    "low": (False, True),
    "moderate": (True, True),
    "severe": (True, True),
    "fatal": (True, True),
    "prolonged_psychological": (True, True),
}


class TestHarmMapping:
    """Reg 20(8): which harm makes an incident notifiable."""

    def test_table_covers_every_category(self) -> None:
        """Reg 20(8): the hand-written table lists every harm category the library offers."""
        assert set(HARM_TABLE) == set(HARM_CATEGORIES)

    @pytest.mark.parametrize(("harm", "expected"), HARM_TABLE.items(), ids=list(HARM_TABLE))
    def test_statutory_mapping(self, harm: str, expected: tuple[bool, bool]) -> None:
        """Reg 20(8)(a)-(b): death, severe, moderate and prolonged psychological harm notify."""
        assert is_notifiable_harm(harm) is expected[0]

    @pytest.mark.parametrize(("harm", "expected"), HARM_TABLE.items(), ids=list(HARM_TABLE))
    def test_plan_may_treat_low_harm_as_notifiable(
        self, harm: str, expected: tuple[bool, bool]
    ) -> None:
        """Psirf-rules §0.1 LOCAL: a plan may add low harm; no harm stays not notifiable."""
        assert is_notifiable_harm(harm, low_harm_notifiable=True) is expected[1]

    def test_unknown_category_is_refused(self) -> None:
        """Reg 20(8): a category outside the list is an error, never silently not notifiable."""
        with pytest.raises(ValueError, match="unknown harm category 'catastrophic'"):
            is_notifiable_harm("catastrophic")

    @pytest.mark.parametrize(
        ("old", "expected"), [("no_harm", False), ("death", True)], ids=["no_harm", "death"]
    )
    def test_old_words_read_as_current_codes(self, old: str, expected: bool) -> None:
        """Psirf-rules §8.1: the old words no_harm and death are read as none and fatal."""
        assert is_notifiable_harm(old) is expected


def _determination_rows(local: bool) -> list[object]:
    rows: list[object] = []
    for harm, expected in HARM_TABLE.items():
        notifiable = expected[1] if local else expected[0]
        rows.append(
            pytest.param(
                harm,
                "determine_notifiable",
                "verbal_due" if notifiable else "harm_not_notifiable",
                id=f"{harm}-notifiable",
            )
        )
        rows.append(
            pytest.param(
                harm,
                "determine_not_notifiable",
                "harm_requires_notification" if notifiable else "not_notifiable",
                id=f"{harm}-not_notifiable",
            )
        )
    return rows


def _decide(driver: Driver, harm: str, trigger: str) -> str:
    case_id = driver.open()
    payload = determination(harm) if trigger == "determine_notifiable" else not_notifiable(harm)
    try:
        return driver.fire(case_id, trigger, HCP, payload).state
    except GuardFailed as refused:
        return ",".join(r.reason_code for r in refused.failures)


class TestDetermination:
    """Reg 20(8): the notifiable-safety-incident determination by a health care professional."""

    @pytest.mark.parametrize(("harm", "trigger", "expected"), _determination_rows(local=False))
    def test_decision_must_match_harm(
        self, driver: Driver, harm: str, trigger: str, expected: str
    ) -> None:
        """Reg 20(8): each harm code with each decision is accepted or refused with its code."""
        assert _decide(driver, harm, trigger) == expected

    @pytest.mark.parametrize(("harm", "trigger", "expected"), _determination_rows(local=True))
    def test_decision_under_a_plan_treating_low_harm_as_notifiable(
        self, local_driver: Driver, harm: str, trigger: str, expected: str
    ) -> None:
        """Psirf-rules §4.2 LOCAL: with the plan setting, low harm must be notified too."""
        assert _decide(local_driver, harm, trigger) == expected

    @pytest.mark.parametrize(
        "reason",
        [
            "not_unintended_or_unexpected",
            "not_during_regulated_activity",
            "death_not_directly_related",
        ],
    )
    @pytest.mark.parametrize("harm", ["moderate", "fatal"])
    def test_other_reg_20_8_elements_may_make_it_not_notifiable(
        self, driver: Driver, harm: str, reason: str
    ) -> None:
        """Reg 20(8): an expected outcome, or a death from the natural course, is no NSI."""
        case_id = driver.open()

        case = driver.fire(case_id, "determine_not_notifiable", HCP, not_notifiable(harm, reason))

        assert case.state == "not_notifiable"
        assert case.facts["not_notifiable_reason"] == reason

    @pytest.mark.parametrize(
        "role", [r for r in Role if r is not Role.HEALTH_CARE_PROFESSIONAL], ids=str
    )
    @pytest.mark.parametrize("trigger", ["determine_notifiable", "determine_not_notifiable"])
    def test_only_a_health_care_professional_determines(
        self, driver: Driver, role: Role, trigger: str
    ) -> None:
        """Reg 20(8): "in the reasonable opinion of a health care professional" (SoD 3)."""
        case_id = driver.open()
        actor = Actor("someone-1", [role], ORG)

        # The system role is psirf_flow's own: no person may claim it at all.
        refusal = ReservedIdentity if role is Role.SYSTEM else RoleNotPermitted
        with pytest.raises(refusal):
            driver.fire(case_id, trigger, actor, not_notifiable("none"))

    def test_records_who_determined_and_why(self, driver: Driver) -> None:
        """Reg 20(8): the determination, its basis and the professional are on record."""
        case_id = driver.open()

        case = driver.fire(
            case_id,
            "determine_notifiable",
            HCP,
            {"harm_category": "severe", "harm_basis": "could_result"},
        )

        assert case.state == "verbal_due"
        assert case.facts["determined_by"] == "hcp-1"
        assert case.facts["harm_basis"] == "could_result"
        entry = driver.engine.history(case_id, reader=READER)[-1]
        assert entry.role == "health_care_professional"
        assert entry.rules == ("candour.reg20.determination@1",)

    def test_local_setting_is_named_in_the_audit_entry(self, local_driver: Driver) -> None:
        """Psirf-rules §0.1 LOCAL: a plan's choice is labelled local wherever it applies."""
        case_id = local_driver.open()

        local_driver.fire(case_id, "determine_notifiable", HCP, determination("low"))

        rules = local_driver.engine.history(case_id, reader=READER)[-1].rules
        assert rules == ("candour.reg20.determination@1", "local.candour.low_harm_notifiable@1")

    @pytest.mark.parametrize(
        ("harm", "trigger", "words"),
        [
            ("fatal", "determine_not_notifiable", "a death is notifiable under regulation 20(8)"),
            ("low", "determine_notifiable", "the trust's plan does not treat it as notifiable"),
            (
                "none",
                "determine_notifiable",
                "no harm is not notifiable under regulation 20(8).",
            ),
        ],
    )
    def test_refusal_explains_in_plain_words(
        self, driver: Driver, harm: str, trigger: str, words: str
    ) -> None:
        """Reg 20(8): a refused determination says which harm and which rule, in plain words."""
        case_id = driver.open()

        payload = determination(harm) if trigger == "determine_notifiable" else not_notifiable(harm)

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, trigger, HCP, payload)

        assert words in str(refused.value)

    def test_harm_basis_is_required(self, driver: Driver) -> None:
        """Reg 20(8): "could result in, or appears to have resulted in" must be recorded."""
        case_id = driver.open()

        with pytest.raises(InvalidPayload, match="'harm_basis' is required"):
            driver.fire(case_id, "determine_notifiable", HCP, {"harm_category": "severe"})

    def test_reassessment_on_new_information(self, driver: Driver) -> None:
        """Psirf-rules §9.4: a harm revised upwards reopens the assessment for a new decision."""
        case_id = driver.open()
        driver.fire(case_id, "determine_not_notifiable", HCP, not_notifiable("low"))

        reopened = driver.fire(
            case_id,
            "reassess",
            PSS,
            {"new_information_ref": "DOC-NEW-1", "reassess_reason": "harm_revised"},
        )
        assert reopened.state == "assessing"
        assert "not_notifiable_reason" not in reopened.facts
        assert "determined_by" not in reopened.facts

        case = driver.fire(case_id, "determine_notifiable", HCP, determination("moderate"))
        assert case.state == "verbal_due"


class TestVerbalNotification:
    """Reg 20(2)-(3): notification in person, with an apology and a secure written record."""

    @pytest.mark.parametrize(
        ("flag", "code"),
        [
            ("in_person", "notification_not_in_person"),
            ("facts_given", "facts_not_given"),
            ("further_enquiries_explained", "enquiries_not_explained"),
            ("apology_given", "apology_not_given"),
            ("support_offered", "support_not_offered"),
        ],
        ids=["3a-in-person", "3b-facts", "3c-enquiries", "3d-apology", "2b-support"],
    )
    def test_each_element_is_required(self, driver: Driver, flag: str, code: str) -> None:
        """Reg 20(2)(b), (3)(a)-(d): a notification missing one element is refused by name."""
        case_id = driver.at("verbal_due")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_verbal_notification", HCP, {**VERBAL, flag: False})

        assert [r.reason_code for r in refused.value.failures] == [code]
        assert driver.engine.get(case_id, reader=READER).state == "verbal_due"

    def test_every_missing_element_is_listed_at_once(self, driver: Driver) -> None:
        """Reg 20(3): all missing elements are reported together, not one per attempt."""
        case_id = driver.at("verbal_due")
        flags = ("in_person", "facts_given", "further_enquiries_explained", "apology_given")
        payload = {**VERBAL, **dict.fromkeys(flags, False), "support_offered": False}

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_verbal_notification", HCP, payload)

        assert len(refused.value.failures) == 5

    def test_written_record_is_required(self, driver: Driver) -> None:
        """Reg 20(3)(e): the notification is recorded in a written record kept securely."""
        case_id = driver.at("verbal_due")
        payload = {k: v for k, v in VERBAL.items() if k != "verbal_record_ref"}

        with pytest.raises(InvalidPayload, match="verbal_record_ref"):
            driver.fire(case_id, "record_verbal_notification", HCP, payload)

    @pytest.mark.parametrize("basis", ["patient", "on_death", "under_16", "lacks_capacity"])
    def test_relevant_person_basis_is_recorded(self, driver: Driver, basis: str) -> None:
        """Reg 20(7): the relevant person is the patient or someone lawfully acting for them."""
        case_id = driver.at("verbal_due")

        case = driver.fire(
            case_id, "record_verbal_notification", ENG, {**VERBAL, "relevant_person_basis": basis}
        )

        assert case.state == "written_due"
        assert case.facts["relevant_person_basis"] == basis
        assert case.facts["verbal_recorded_by"] == "eng-1"

    def test_patient_safety_specialist_does_not_record_it(self, driver: Driver) -> None:
        """Reg 20(3)(a): given in person by a representative (clinician or engagement lead)."""
        case_id = driver.at("verbal_due")

        with pytest.raises(RoleNotPermitted):
            driver.fire(case_id, "record_verbal_notification", PSS, VERBAL)

    def test_delay_reason_is_a_code(self, driver: Driver) -> None:
        """Psirf-rules §9.3: a late notification records a delay reason from a closed list."""
        case_id = driver.at("verbal_due")

        with pytest.raises(InvalidPayload, match="verbal_delay_reason"):
            driver.fire(
                case_id,
                "record_verbal_notification",
                HCP,
                {**VERBAL, "verbal_delay_reason": "we were busy"},
            )
        case = driver.fire(
            case_id,
            "record_verbal_notification",
            HCP,
            {**VERBAL, "verbal_delay_reason": "relevant_person_unavailable"},
        )
        assert case.facts["verbal_delay_reason"] == "relevant_person_unavailable"


class TestWrittenNotification:
    """Reg 20(4), (6): written notification follows the verbal one; a copy is kept."""

    @pytest.mark.parametrize("state", ["assessing", "verbal_due"])
    def test_written_follows_verbal(self, driver: Driver, state: str) -> None:
        """Reg 20(4): written notification follows verbal (psirf-rules §9.3)."""
        case_id = driver.at(state)

        with pytest.raises(TransitionNotAllowed) as refused:
            driver.fire(case_id, "record_written_notification", ENG, WRITTEN)

        assert refused.value.reason_code == "not_allowed_in_state"

    @pytest.mark.parametrize(
        ("flag", "code"),
        [
            ("facts_included", "written_facts_missing"),
            ("enquiries_included", "written_enquiries_missing"),
            ("results_to_date_included", "written_results_missing"),
            ("apology_included", "written_apology_missing"),
        ],
        ids=["4a", "4b", "4c", "4d"],
    )
    def test_content_checklist(self, driver: Driver, flag: str, code: str) -> None:
        """Reg 20(4)(a)-(d): a letter missing one required element is refused by name."""
        case_id = driver.at("written_due")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_written_notification", ENG, {**WRITTEN, flag: False})

        assert [r.reason_code for r in refused.value.failures] == [code]

    def test_stored_copy_is_required(self, driver: Driver) -> None:
        """Reg 20(6): a copy of the correspondence is kept (its reference is required)."""
        case_id = driver.at("written_due")
        payload = {k: v for k, v in WRITTEN.items() if k != "written_copy_ref"}

        with pytest.raises(InvalidPayload, match="written_copy_ref"):
            driver.fire(case_id, "record_written_notification", ENG, payload)

    def test_moves_to_results_due(self, driver: Driver) -> None:
        """Reg 20(4)(c): after the letter, the results of further enquiries are still due."""
        case_id = driver.at("written_due")

        case = driver.fire(case_id, "record_written_notification", PSS, WRITTEN)

        assert case.state == "results_due"
        assert case.facts["written_copy_ref"] == "DOC-LETTER-1"


class TestFindings:
    """Reg 20(4)(c): results of further enquiries are shared after the response is approved."""

    @pytest.mark.parametrize("state", ["verbal_due", "written_due"])
    def test_findings_only_from_results_due(self, driver: Driver, state: str) -> None:
        """Reg 20(4)(c): findings are shared only after the written notification."""
        case_id = driver.at(state)
        driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)

        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, "record_findings_shared", ENG, FINDINGS)

    def test_findings_wait_for_approval(self, driver: Driver) -> None:
        """Psirf-rules §9.4: findings are shared only once the learning response is approved."""
        case_id = driver.at("results_due")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_findings_shared", ENG, FINDINGS)

        assert refused.value.reason_code == "findings_not_available"

    def test_approval_before_the_letter_is_remembered(self, driver: Driver) -> None:
        """Psirf-rules §9.4: an approval coupled early still makes the findings shareable."""
        case_id = driver.at("verbal_due")

        held = driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)
        assert held.state == "verbal_due"
        driver.fire(case_id, "record_verbal_notification", HCP, VERBAL)
        driver.fire(case_id, "record_written_notification", ENG, WRITTEN)
        case = driver.fire(case_id, "record_findings_shared", ENG, FINDINGS)

        assert case.state == "complete"
        assert case.facts["learning_response_id"] == "LR-1"

    def test_other_concluded_enquiries_also_count(self, driver: Driver) -> None:
        """Reg 20(4)(c): "any further enquiries" may be another body's investigation."""
        case_id = driver.at("results_due")
        driver.fire(
            case_id,
            "record_enquiries_concluded",
            PSS,
            {"enquiries_concluded_ref": "DOC-EXT-1", "enquiries": "external_investigation"},
        )

        case = driver.fire(case_id, "record_findings_shared", ENG, FINDINGS)

        assert case.state == "complete"

    @pytest.mark.parametrize("actor", [HCP, ENG], ids=["hcp", "engagement_lead"])
    def test_coupling_trigger_fires_as_patient_safety_specialist(
        self, driver: Driver, actor: Actor
    ) -> None:
        """Psirf-rules §9.4 (INF): the coupling acts as the patient safety specialist only."""
        case_id = driver.at("results_due")

        with pytest.raises(RoleNotPermitted):
            driver.fire(case_id, LEARNING_RESPONSE_APPROVED, actor, APPROVED)

    def test_full_path_leaves_a_verified_record(self, driver: Driver) -> None:
        """Reg 20(2)-(4): determination, verbal, written and results, in order, on a sound chain."""
        case_id = driver.at("complete")

        triggers = [e.trigger for e in driver.engine.history(case_id, reader=READER)]
        assert triggers == [
            "open",
            "determine_notifiable",
            "record_verbal_notification",
            "record_written_notification",
            LEARNING_RESPONSE_APPROVED,
            "record_findings_shared",
        ]
        assert driver.engine.verify(case_id, reader=READER).ok
        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)


#: Which learning response the candour case may take findings from (reg 20(4)(c),
#: psirf-rules §9.3, §9.4): the response's id, organisation, incident and state, and the
#: reason code refusing it ("ok" when accepted). ``None`` means no such case exists.
REFERENCE_ROWS = [
    pytest.param(None, ORG, "INC-1", "approved", "no_such_learning_response", id="missing"),
    pytest.param("LR-X", "RX2", "INC-1", "approved", "no_such_learning_response", id="foreign"),
    pytest.param(
        "LR-2", ORG, "INC-1", "review", "learning_response_not_approved", id="not-approved"
    ),
    pytest.param(
        "LR-3", ORG, "INC-9", "approved", "learning_response_other_incident", id="other-incident"
    ),
    pytest.param("LR-4", ORG, "INC-1", "approved", "ok", id="approved"),
]


class TestFindingsReference:
    """Findings come only from an approved learning response of the same incident (§9.4)."""

    @pytest.mark.parametrize(("lr_id", "organisation", "incident", "state", "code"), REFERENCE_ROWS)
    def test_learning_response_approved_checks_the_response(
        self,
        *,
        driver: Driver,
        lr_id: str | None,
        organisation: str,
        incident: str,
        state: str,
        code: str,
    ) -> None:
        """The approval is recorded only for an approved response of this incident here."""
        named = lr_id or "LR-NONE"
        if lr_id is not None:
            learning_response(
                driver.engine, lr_id, incident=incident, organisation=organisation, state=state
            )
        case_id = driver.at("results_due")
        before = driver.engine.get(case_id, reader=READER)
        payload = {**APPROVED, "learning_response_id": named}

        if code == "ok":
            after = driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, payload)
            assert after.facts["learning_response_id"] == named
            assert driver.fire(case_id, "record_findings_shared", ENG, FINDINGS).state == "complete"
            return
        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, payload)

        assert refused.value.reason_code == code
        assert [r.name for r in refused.value.failures] == [
            "learning_response_approved_for_incident"
        ]
        assert driver.engine.get(case_id, reader=READER) == before
        if code == "no_such_learning_response":
            # Missing and foreign read the same: nothing about another trust leaks.
            assert refused.value.failures[0].explanation == "there is no such learning response"

    def test_findings_refused_when_the_response_is_reopened(self, driver: Driver) -> None:
        """A response no longer approved when the findings are shared refuses them (§9.3)."""
        case_id = driver.at("results_due")
        driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)
        _reopen_to_rework(driver.engine, "LR-1")
        options = {o.trigger: o for o in driver.engine.options(case_id, ENG)}

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_findings_shared", ENG, FINDINGS)

        assert refused.value.reason_code == "learning_response_not_approved"
        assert options["record_findings_shared"].reason_codes == ("learning_response_not_approved",)

    def test_malformed_reference_is_refused_before_any_lookup(self, driver: Driver) -> None:
        """A reference that is not an id (a name, here) is refused as a payload (§7.2)."""
        case_id = driver.at("results_due")

        with pytest.raises(InvalidPayload) as refused:
            driver.fire(
                case_id,
                LEARNING_RESPONSE_APPROVED,
                PSS,
                {**APPROVED, "learning_response_id": "Jane Smith"},
            )

        assert len(refused.value.problems) == 1
        assert refused.value.problems[0].startswith("'learning_response_id' ")
        assert "Jane Smith" not in str(refused.value)

    def test_options_see_the_referenced_response(self, driver: Driver) -> None:
        """Options load the referenced case too, so sharing shows as allowed (§9.4)."""
        case_id = driver.at("results_due")
        driver.fire(case_id, LEARNING_RESPONSE_APPROVED, PSS, APPROVED)

        options = {o.trigger: o for o in driver.engine.options(case_id, ENG)}

        assert options["record_findings_shared"].allowed


def _reopen_to_rework(engine: Engine, case_id: str) -> None:
    """Share, close and reopen an approved swarm huddle (it is then no longer approved)."""
    fac = Actor("fac-1", [Role.FACILITATOR], ORG)
    pss = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
    exec_lead = Actor("exec-9", [Role.EXECUTIVE_LEAD], ORG)
    engine.fire(case_id, "share", actor=fac, payload={"family_sharing": "shared"})
    engine.fire(case_id, "close", actor=pss, payload={"no_actions_rationale": "no_new_learning"})
    engine.fire(
        case_id,
        "reopen",
        actor=exec_lead,
        payload={"new_information_ref": "NEW-1", "reopen_reason": "new_evidence"},
    )


class TestUncontactableOrDeclined:
    """Reg 20(5): cannot be contacted or declines; a written record of attempts is kept."""

    def test_attempts_are_counted(self, driver: Driver) -> None:
        """Reg 20(5)(b): each attempt is recorded, numbered, with its method and outcome."""
        case_id = driver.at("verbal_due")

        for number in (1, 2, 3):
            case = driver.fire(case_id, "record_contact_attempt", ENG, attempt(number))

        assert case.state == "verbal_due"
        assert case.facts["contact_attempts"] == 3
        attempts = [
            e
            for e in driver.engine.history(case_id, reader=READER)
            if e.trigger == "record_contact_attempt"
        ]
        assert [dict(e.data) for e in attempts] == [attempt(n) for n in (1, 2, 3)]

    @pytest.mark.parametrize("number", [0, 2, 5], ids=["zero", "skips", "far-ahead"])
    def test_attempts_are_numbered_in_order(self, driver: Driver, number: int) -> None:
        """Reg 20(5)(b): an attempt numbered out of order is refused, so none goes missing."""
        case_id = driver.at("verbal_due")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "record_contact_attempt", ENG, attempt(number))

        assert refused.value.reason_code == "contact_attempt_out_of_sequence"

    @pytest.mark.parametrize(
        ("reason", "code"),
        [("uncontactable", "contact_attempts_missing"), ("declined", "declining_not_recorded")],
    )
    def test_leaving_needs_a_record(self, driver: Driver, reason: str, code: str) -> None:
        """Reg 20(5): uncontactable needs ≥1 recorded attempt; declined needs its record."""
        case_id = driver.at("verbal_due")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "mark_uncontactable_or_declined", PSS, {"unable_reason": reason})

        assert refused.value.reason_code == code

    def test_uncontactable_path_is_a_complete_record(self, driver: Driver) -> None:
        """Reg 20(5)(b): an uncontactable relevant person still ends with a verified record."""
        case_id = driver.at("verbal_due")
        driver.fire(case_id, "record_contact_attempt", ENG, attempt(1))
        driver.fire(case_id, "record_contact_attempt", ENG, attempt(2, "message_left"))
        driver.fire(
            case_id, "mark_uncontactable_or_declined", PSS, {"unable_reason": "uncontactable"}
        )
        driver.fire(case_id, "record_contact_attempt", ENG, attempt(3))

        case = driver.fire(case_id, "close_recorded", PSS, {"attempts_record_ref": "DOC-ATT-1"})

        assert case.state == "complete_recorded"
        assert case.facts["contact_attempts"] == 3
        assert case.facts["closed_by"] == "pss-1"
        assert driver.engine.verify(case_id, reader=READER).ok

    def test_declined_path_is_a_complete_record(self, driver: Driver) -> None:
        """Reg 20(5): a relevant person who declines to speak still leaves a complete record."""
        case_id = driver.at("verbal_due")
        driver.fire(case_id, "record_declined", ENG, {"declined_record_ref": "DOC-DEC-1"})
        driver.fire(case_id, "mark_uncontactable_or_declined", ENG, {"unable_reason": "declined"})

        case = driver.fire(case_id, "close_recorded", PSS, {"attempts_record_ref": "DOC-DEC-1"})

        assert case.state == "complete_recorded"
        assert case.facts["unable_reason"] == "declined"
        assert driver.engine.verify(case_id, reader=READER).ok
        assert driver.engine.history(case_id, reader=READER)[-1].rules == (
            "candour.reg20.attempts_recorded@1",
        )

    @pytest.mark.parametrize("closed", [False, True], ids=["while-open", "after-closing"])
    def test_relevant_person_may_engage_later(self, driver: Driver, closed: bool) -> None:
        """Psirf-rules §9.3 (INF): a person who later engages is notified after all."""
        case_id = driver.at("verbal_due")
        driver.fire(case_id, "record_declined", ENG, {"declined_record_ref": "DOC-DEC-1"})
        driver.fire(case_id, "mark_uncontactable_or_declined", ENG, {"unable_reason": "declined"})
        if closed:
            driver.fire(case_id, "close_recorded", PSS, {"attempts_record_ref": "DOC-DEC-1"})

        case = driver.fire(
            case_id, "relevant_person_engages", ENG, {"engaged_via": "relevant_person_contacted_us"}
        )

        assert case.state == "verbal_due"
        assert "declined_record_ref" not in case.facts
        assert "attempts_record_ref" not in case.facts
        driver.fire(case_id, "record_verbal_notification", HCP, VERBAL)
        assert driver.engine.get(case_id, reader=READER).state == "written_due"
        assert driver.engine.verify(case_id, reader=READER).ok

    def test_attempts_are_not_possible_after_verbal_notification(self, driver: Driver) -> None:
        """Reg 20(5): the uncontactable route belongs to the in-person notification stage."""
        case_id = driver.at("written_due")

        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, "record_contact_attempt", ENG, attempt(1))


class TestContactAttemptProperty:
    """Reg 20(5)(b): the attempt count is exactly the number of accepted attempts."""

    @given(numbers=st.lists(st.integers(min_value=0, max_value=6), max_size=8))
    def test_count_equals_accepted_attempts(self, numbers: list[int]) -> None:
        """Reg 20(5)(b): only the next number is accepted, and the fact counts acceptances."""
        clock = ManualClock()
        driver = Driver(Engine(InMemoryStore(), clock=clock), clock)
        case_id = driver.at("verbal_due")
        accepted = 0
        for number in numbers:
            try:
                driver.engine.fire(
                    case_id, "record_contact_attempt", actor=ENG, payload=attempt(number)
                )
            except GuardFailed:
                assert number != accepted + 1
            else:
                assert number == accepted + 1
                accepted += 1
        assert (
            driver.engine.get(case_id, reader=READER).facts.get("contact_attempts", 0) == accepted
        )


class TestAgainstTheReferenceModel:
    """Random command sequences: the engine agrees with the reference model throughout."""

    def test_engine_matches_model(self) -> None:
        """Psirf-rules §9.3: random runs keep the chain sound and final states final."""
        run_state_machine_as_test(
            engine_state_machine(DUTY_OF_CANDOUR),
            settings=settings(max_examples=10, stateful_step_count=25, deadline=None),
        )


class TestOptions:
    """What a person may do next, with reasons, for the candour case."""

    def test_findings_option_explains_what_is_missing(self, driver: Driver) -> None:
        """Reg 20(4)(c): before approval, sharing findings shows the missing approval."""
        case_id = driver.at("results_due")

        options = {o.trigger: o for o in driver.engine.options(case_id, ENG)}

        assert options["record_findings_shared"].reason_codes == ("findings_not_available",)

    def test_determination_guards_are_checked_on_fire(self, driver: Driver) -> None:
        """Reg 20(8): the harm is only known from the step's details, so it is checked then."""
        case_id = driver.open()

        options = {o.trigger: o for o in driver.engine.options(case_id, HCP)}

        assert options["determine_notifiable"].allowed
        assert options["determine_notifiable"].checked_on_fire == ("harm_is_notifiable",)


class TestGuardsDirectly:
    """Guards never raise, even on facts the definition would never let through."""

    def _input(self, facts: Mapping[str, FactValue]) -> GuardInput:
        return GuardInput(
            case=None,
            trigger="t",
            actor=HCP,
            role=Role.HEALTH_CARE_PROFESSIONAL,
            facts=facts,
            payload=facts,
        )

    @pytest.mark.parametrize(
        "name",
        [
            "harm_is_notifiable",
            "harm_is_not_notifiable",
            "harm_is_notifiable_low_harm_local",
            "harm_is_not_notifiable_low_harm_local",
        ],
    )
    def test_unknown_harm_is_refused_not_raised(self, name: str) -> None:
        """Reg 20(8): an unknown harm code is refused with a reason, never an exception."""
        facts = {"harm_category": "catastrophic", "not_notifiable_reason": "harm_below_threshold"}

        result = GUARDS[name].check(self._input(facts))

        assert result.reason_code == "harm_category_unknown"

    def test_first_attempt_without_a_case(self) -> None:
        """Reg 20(5)(b): with no earlier attempts the next attempt is number one."""
        result = GUARDS["contact_attempt_in_sequence"].check(self._input({"contact_attempts": 1}))

        assert result.ok


class TestDefinition:
    """The definition's identity, registration and honest labelling."""

    def test_identity(self) -> None:
        """Issue 5 item 4: one definition named duty_of_candour, family duty_of_candour, v1."""
        assert DUTY_OF_CANDOUR.key == "duty_of_candour@1"
        assert DUTY_OF_CANDOUR.family == "duty_of_candour"
        assert DUTY_OF_CANDOUR.final_states == {"not_notifiable", "complete", "complete_recorded"}
        assert DefinitionRegistry.default().latest("duty_of_candour") is DUTY_OF_CANDOUR

    def test_variants_cannot_both_be_registered(self) -> None:
        """Psirf-rules §0.1 LOCAL: a registry holds one candour rule set, never two."""
        assert build_duty_of_candour().transitions.keys() == DUTY_OF_CANDOUR.transitions.keys()

        with pytest.raises(ValueError, match="already registered"):
            DefinitionRegistry([DUTY_OF_CANDOUR, DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE])

    def test_no_day_count_is_written_into_the_lifecycle(self) -> None:
        """Psirf-rules §4.2: reg 20 says "as soon as reasonably practicable", with no days."""
        texts = [DUTY_OF_CANDOUR.title]
        texts += [t.summary for t in DUTY_OF_CANDOUR.transitions.values()]
        texts += [
            DUTY_OF_CANDOUR.guards[g].summary
            for t in DUTY_OF_CANDOUR.transitions.values()
            for g in t.guards
        ]

        assert not [t for t in texts if re.search(r"\d+\s*(working\s+)?days?", t)]
