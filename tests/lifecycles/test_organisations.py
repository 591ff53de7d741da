"""Organisations and oversight (issue item 8) and retention classes (item 9)."""

from __future__ import annotations

import pytest

from psirf_flow import (
    Actor,
    CaseNotFound,
    DefinitionError,
    Engine,
    InMemoryStore,
    OrganisationMismatch,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import SystemReader
from psirf_flow.policy import RetentionClass, RetentionSettings
from psirf_flow.ports import Change
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII, OpeningSpec, TransitionSpec, define


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

TRUST = "RXY"
OTHER_TRUST = "RAB"
ICB = "QWE"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
PARTNER = Actor("psp-02", [Role.PATIENT_SAFETY_PARTNER], TRUST)
ICB_READER = Actor("icb-09", [Role.ICB_OVERSIGHT], ICB)
OTHER_ICB = Actor("icb-11", [Role.ICB_OVERSIGHT], "QZZ")
OTHER_STAFF = Actor("pss-77", [Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD], OTHER_TRUST)


@pytest.fixture(name="engine")
def _engine() -> Engine:
    return Engine(InMemoryStore(), clock=ManualClock(), oversight={ICB: [TRUST]})


@pytest.fixture(name="case_id")
def _case_id(engine: Engine) -> str:
    opened = engine.open("psii", actor=PSS, case_id="PSII-1", payload={"incident_ids": ["I-1"]})
    return opened.case.id


class TestReading:
    """Who may read a case's status and history."""

    @pytest.mark.parametrize(
        "reader",
        [PSS, PARTNER, ICB_READER],
        ids=["own-staff", "patient-safety-partner", "overseeing-icb"],
    )
    def test_owners_and_overseers_read_status_and_history(
        self, engine: Engine, case_id: str, reader: Actor
    ) -> None:
        """Staff and patient safety partners of the trust, and its ICB, read status and history."""
        assert engine.get(case_id, reader=reader).state == "commissioned"
        assert len(engine.history(case_id, reader=reader)) == 1

    @pytest.mark.parametrize(
        "reader",
        [OTHER_STAFF, OTHER_ICB, Actor("icb-12", [Role.PATIENT_SAFETY_PARTNER], ICB)],
        ids=["other-trust", "icb-not-overseeing", "icb-member-without-oversight-role"],
    )
    def test_everyone_else_is_refused(self, engine: Engine, case_id: str, reader: Actor) -> None:
        """Readers who neither own nor oversee the case are answered as for a missing case."""
        with pytest.raises(CaseNotFound) as refused:
            engine.history(case_id, reader=reader)

        assert refused.value.code == "PSF300"
        assert refused.value.case_id == case_id
        with pytest.raises(CaseNotFound):
            engine.get(case_id, reader=reader)


class TestNeverActing:
    """Patient safety partners and ICB oversight never fire a trigger (psirf-rules §5)."""

    @pytest.mark.parametrize("trigger", sorted(PSII.triggers), ids=sorted(PSII.triggers))
    def test_patient_safety_partner_fires_nothing(
        self, engine: Engine, case_id: str, trigger: str
    ) -> None:
        """A patient safety partner is refused every step, whatever the state allows."""
        spec = PSII.transition(trigger)
        assert spec is not None
        expected = RoleNotPermitted if "commissioned" in spec.sources else TransitionNotAllowed

        with pytest.raises(expected):
            engine.fire(case_id, trigger, actor=PARTNER)

        assert not any(o.allowed for o in engine.options(case_id, PARTNER))
        assert len(engine.history(case_id, reader=READER)) == 1

    def test_icb_oversight_fires_nothing(self, engine: Engine, case_id: str) -> None:
        """An ICB reader acting on a trust's case is refused as another organisation."""
        with pytest.raises(OrganisationMismatch):
            engine.fire(case_id, "assign_lead", actor=ICB_READER, payload={"lead_id": "inv-1"})

    def test_icb_role_inside_the_trust_fires_nothing(self, engine: Engine, case_id: str) -> None:
        """Even within the trust's organisation, the ICB oversight role grants no step."""
        insider = Actor("icb-in", [Role.ICB_OVERSIGHT], TRUST)

        with pytest.raises(RoleNotPermitted):
            engine.fire(case_id, "assign_lead", actor=insider, payload={"lead_id": "inv-1"})

    @pytest.mark.parametrize(
        "role", [Role.PATIENT_SAFETY_PARTNER, Role.ICB_OVERSIGHT], ids=["psp", "icb"]
    )
    def test_no_definition_may_grant_an_oversight_role_a_step(self, role: Role) -> None:
        """A definition that lets an oversight role act is refused when built."""
        with pytest.raises(DefinitionError) as refused:
            define(
                name="bad",
                version="1",
                family="test",
                title="Bad",
                states=("a", "b"),
                initial="a",
                final_states=("b",),
                opening=OpeningSpec(roles=(role,)),
                transitions=[TransitionSpec(trigger="go", sources=("a",), dest="b", roles=(role,))],
            )

        assert any(
            "oversight role" in p and p.startswith("opening") for p in refused.value.problems
        )
        assert any(
            "oversight role" in p and p.startswith("trigger") for p in refused.value.problems
        )


class TestRetention:
    """Every case carries a retention class (psirf-rules §4.5, §7.2; RMCoP)."""

    @pytest.mark.parametrize(
        ("workflow", "basis", "expected"),
        [
            ("psii", "local_priority", ("serious", 20)),
            ("after_action_review", "national_requirement", ("serious", 20)),
            ("after_action_review", "local_priority", ("standard", 10)),
            ("swarm_huddle", "other", ("standard", 10)),
        ],
        ids=["psii", "aar-national", "aar-local", "swarm"],
    )
    def test_class_follows_response_type_and_national_requirement(
        self, engine: Engine, workflow: str, basis: str, expected: tuple[str, int]
    ) -> None:
        """PSII and national-requirement records are kept 20 years, others 10."""
        case = engine.open(
            workflow, actor=PSS, payload={"incident_ids": ["I-1", "I-2"], "basis": basis}
        ).case

        name, rule = engine.retention(case.id, reader=READER)

        assert (case.retention_class, rule.years) == (expected[0], expected[1])
        assert name == expected[0]

    def test_class_is_configurable(self) -> None:
        """A plan's own retention classes replace the defaults."""
        settings = RetentionSettings(
            classes={"everything": RetentionClass(years=25)}, default_class="everything"
        )
        engine = Engine(InMemoryStore(), clock=ManualClock(), retention=settings)

        case = engine.open("swarm_huddle", actor=PSS, payload={"incident_ids": ["I-1"]}).case

        assert engine.retention(case.id, reader=READER) == ("everything", RetentionClass(years=25))

    def test_intake_class_rises_when_a_national_requirement_is_recorded(
        self, engine: Engine
    ) -> None:
        """An intake becomes 'serious' once triage records a national requirement."""
        engine.open("incident_intake", actor=PSS, case_id="I-5", payload={"incident_id": "I-5"})
        before = engine.get("I-5", reader=READER).retention_class
        engine.fire("I-5", "begin_review", actor=PSS)
        engine.fire(
            "I-5",
            "record_triage",
            actor=PSS,
            payload={"national_rule_refs": ["psirf.national.never_event@1"], "plan_ref": "P@1"},
        )

        assert (before, engine.get("I-5", reader=READER).retention_class) == ("standard", "serious")


NEVER_EVENT = "psirf.national.never_event@1"
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], TRUST)
TRIAGE_NE = {
    "national_rule_refs": [NEVER_EVENT],
    "national_psii_rule_refs": [NEVER_EVENT],
    "plan_ref": "P@1",
}


def _intake_under_review(engine: Engine, case_id: str = "INT-1", incident: str = "INC-1") -> str:
    engine.open("incident_intake", actor=PSS, case_id=case_id, payload={"incident_id": incident})
    engine.fire(case_id, "begin_review", actor=PSS)
    return case_id


class TestRetentionPerIncident:
    """Every record of an incident is kept as long as the longest needs (§4.5, §7.2)."""

    def test_records_opened_later_carry_the_incidents_class(self, engine: Engine) -> None:
        """Candour and safety action records of a PSII's incident are 'serious' from opening."""
        engine.open("psii", actor=PSS, case_id="LR-1", payload={"incident_ids": ["INC-1"]})

        candour = engine.open(
            "duty_of_candour", actor=PSS, case_id="DOC-1", payload={"incident_ids": ["INC-1"]}
        ).case
        action = engine.open(
            "safety_action",
            actor=PSS,
            case_id="SA-1",
            payload={"learning_response_ids": ["LR-1"], "area_for_improvement_ids": ["AFI-1"]},
        ).case
        elsewhere = engine.open(
            "duty_of_candour", actor=PSS, case_id="DOC-2", payload={"incident_ids": ["INC-2"]}
        ).case

        assert (candour.retention_class, action.retention_class) == ("serious", "serious")
        assert engine.retention("SA-1", reader=READER) == (
            "serious",
            RetentionSettings().classes["serious"],
        )
        assert elsewhere.retention_class == "standard"

    def test_earlier_records_are_raised_when_the_incident_becomes_serious(
        self, engine: Engine
    ) -> None:
        """A record written before triage found a national requirement is raised with it."""
        candour = engine.open(
            "duty_of_candour", actor=PSS, case_id="DOC-1", payload={"incident_ids": ["INC-1"]}
        ).case
        intake = _intake_under_review(engine)
        before = engine.retention("DOC-1", reader=READER)

        engine.fire(intake, "record_triage", actor=PSS, payload=TRIAGE_NE)

        assert (candour.retention_class, before[0]) == ("standard", "standard")
        assert engine.retention("DOC-1", reader=READER)[0] == "serious"
        engine.fire(
            "DOC-1",
            "record_enquiries_concluded",
            actor=PSS,
            payload={"enquiries_concluded_ref": "X-1", "enquiries": "other"},
        )
        assert engine.get("DOC-1", reader=READER).retention_class == "serious"

    def test_class_is_never_lowered_by_later_facts(self, engine: Engine) -> None:
        """An override and a re-triage without the rule keep the intake 'serious' (§5 rule 7)."""
        intake = _intake_under_review(engine)
        engine.fire(intake, "record_triage", actor=PSS, payload=TRIAGE_NE)
        engine.fire(
            intake,
            "override_national_requirement",
            actor=EXEC,
            payload={
                "overridden_rule_refs": [NEVER_EVENT],
                "national_requirement_overridden": True,
                "override_reason": "criteria_not_met_on_review",
            },
        )

        engine.fire(intake, "record_triage", actor=PSS, payload={"plan_ref": "P@2"})

        assert "national_rule_refs" not in engine.get(intake, reader=READER).facts
        assert engine.get(intake, reader=READER).retention_class == "serious"
        assert engine.retention(intake, reader=READER)[1].years == 20

    def test_another_organisations_incident_id_does_not_raise(self, engine: Engine) -> None:
        """Incident ids are per organisation: another trust's PSII raises nothing here."""
        engine.open("psii", actor=OTHER_STAFF, case_id="LR-9", payload={"incident_ids": ["INC-1"]})

        mine = engine.open(
            "duty_of_candour", actor=PSS, case_id="DOC-1", payload={"incident_ids": ["INC-1"]}
        ).case

        assert mine.retention_class == "standard"
        assert engine.retention("DOC-1", reader=READER)[0] == "standard"

    def test_unchanged_links_are_not_rewritten(self, engine: Engine) -> None:
        """A command that changes no class writes no incident link (cheap commits)."""
        engine.open("psii", actor=PSS, case_id="LR-1", payload={"incident_ids": ["INC-1"]})
        store = engine.store
        assert isinstance(store, InMemoryStore)
        written: list[int] = []
        commit = store.commit

        def counting(change: Change) -> None:
            written.append(len(change.incident_links))
            commit(change)

        store.commit = counting  # type: ignore[method-assign]
        engine.fire(
            "LR-1",
            "assign_lead",
            actor=PSS,
            payload={"lead_id": "inv-1", "engagement_lead_id": "eng-1"},
        )

        assert written == [0]
        assert [k.retention_class for k in store.incident_links(TRUST, ["INC-1"])] == ["serious"]

    @pytest.mark.parametrize(
        "response", ["LR-MISSING", "LR-9"], ids=["missing-response", "foreign-response"]
    )
    def test_safety_action_of_an_unknown_response_is_classed_alone(
        self, engine: Engine, response: str
    ) -> None:
        """A safety action's incidents come only from its own organisation's responses."""
        engine.open("psii", actor=OTHER_STAFF, case_id="LR-9", payload={"incident_ids": ["INC-1"]})

        action = engine.open(
            "safety_action",
            actor=PSS,
            case_id="SA-1",
            payload={"learning_response_ids": [response], "area_for_improvement_ids": ["A-1"]},
        ).case

        assert action.retention_class == "standard"
        assert engine.store.incident_links(TRUST, ["INC-1"]) == ()
