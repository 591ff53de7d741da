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
