"""The incident intake lifecycle: triage recorded, the response decided, referrals, overrides.

Every rule tested here is from psirf-rules: the decision order (§0.5 rule 1, §1 design
consequence, §6 stage 2, §9.0), the national requirements (§3), the executive lead's
decisions (§5, Croydon example) and the override of a national requirement (§5 segregation
rule 7, §9.4). Cases are driven through the real engine on the in-memory store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    CommandRejected,
    DefinitionRegistry,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.audit import GENESIS_HASH, make_entry
from psirf_flow.domain import SystemReader
from psirf_flow.oversight import NationalOverride, overridden_national_requirements
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import GUARDS, INTAKE
from psirf_flow.workflows.intake import NATIONAL_OVERRIDE_RULE
from psirf_flow.workflows.intake.guards import INTAKE_GUARDS


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
PLAN = "plan-rx1@3"
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
BOTH = Actor("pss-exec-1", [Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD], ORG)

# National rule references as triage would record them (psirf-rules §3).
NEVER_EVENT = "psirf.national.never_event@1"
DEATH_IN_CARE = "psirf.national.death_problems_in_care@1"
MHA_DEATH = "psirf.national.mha_mca_death@1"
CHILD_DEATH = "psirf.national.child_death@1"
MH_HOMICIDE = "psirf.national.mental_health_homicide@1"
SAFEGUARDING = "psirf.national.safeguarding@1"
PSII_RULES = (NEVER_EVENT, DEATH_IN_CARE, MHA_DEATH)
REFERRAL_RULES = (CHILD_DEATH, MH_HOMICIDE, SAFEGUARDING)

NEVER_EVENT_TRIAGE: Mapping[str, object] = {
    "national_rule_refs": [NEVER_EVENT],
    "national_psii_rule_refs": [NEVER_EVENT],
}
OVERRIDE: Mapping[str, object] = {
    "overridden_rule_refs": [NEVER_EVENT],
    "national_requirement_overridden": True,
    "override_reason": "criteria_not_met_on_review",
}


@pytest.fixture(name="engine")
def _engine(clock: ManualClock) -> Engine:
    """An engine with the built-in definitions on a fresh in-memory store."""
    return Engine(InMemoryStore(), clock=clock)


def _open(engine: Engine, case_id: str = "INT-1") -> str:
    engine.open(
        "incident_intake",
        actor=REPORTER,
        case_id=case_id,
        payload={
            "incident_id": "INC-1",
            "lfpse_ref": "LFPSE-123",
            "physical_harm": "severe",
            "psychological_harm": "moderate",
        },
    )
    return case_id


def _under_review(
    engine: Engine, case_id: str = "INT-1", triage: Mapping[str, object] | None = None
) -> str:
    """Open a case, start the review and, unless ``triage`` is None, record triage."""
    _open(engine, case_id)
    engine.fire(case_id, "begin_review", actor=PSS)
    if triage is not None:
        engine.fire(case_id, "record_triage", actor=PSS, payload={"plan_ref": PLAN, **triage})
    return case_id


def _failed_codes(error: pytest.ExceptionInfo[CommandRejected]) -> tuple[str, ...]:
    assert isinstance(error.value, GuardFailed)
    return tuple(r.reason_code for r in error.value.failures)


class TestDefinition:
    """The intake definition is registered and its guards live in the single registry."""

    def test_default_registry_runs_intake(self) -> None:
        """The default registry holds incident_intake@1 of family intake (issue #5 item 3)."""
        registry = DefinitionRegistry.default()

        assert registry.latest("incident_intake") is INTAKE
        assert INTAKE.key == "incident_intake@1"
        assert INTAKE.family == "intake"
        assert INTAKE.final_states == {
            "response_decided",
            "no_further_response",
            "closed",
            "transferred",
        }

    def test_every_intake_guard_is_in_the_single_registry(self) -> None:
        """Each intake guard is registered once under its name, not shadowed (psirf-rules §5)."""
        for name, check, summary, uses_payload in INTAKE_GUARDS:
            assert GUARDS[name].check is check
            assert GUARDS[name].summary == summary
            assert GUARDS[name].uses_payload is uses_payload
            assert INTAKE.guards[name] is GUARDS[name]

    def test_override_step_is_executive_only_and_flagged(self) -> None:
        """The override is fired by the executive lead alone and carries the flag rule (§5.7)."""
        spec = INTAKE.transitions["override_national_requirement"]

        assert spec.roles == (Role.EXECUTIVE_LEAD,)
        assert spec.rules == (NATIONAL_OVERRIDE_RULE,)


class TestOpening:
    """A reporter or patient safety specialist reports an incident (psirf-rules §6 stage 0)."""

    @pytest.mark.parametrize("actor", [REPORTER, PSS], ids=["reporter", "specialist"])
    def test_reporter_or_specialist_opens(self, engine: Engine, actor: Actor) -> None:
        """The incident id and LFPSE harm codes are recorded as facts (psirf-rules §8.1)."""
        outcome = engine.open("incident_intake", actor=actor, payload={"incident_id": "INC-7"})

        assert outcome.case.state == "reported"
        assert outcome.case.facts["incident_id"] == "INC-7"
        assert outcome.entry.rules == ("psirf.intake.report@1",)

    def test_executive_lead_does_not_report(self, engine: Engine) -> None:
        """Reporting is for reporters and patient safety specialists (psirf-rules §5)."""
        with pytest.raises(RoleNotPermitted):
            engine.open("incident_intake", actor=EXEC, payload={"incident_id": "INC-7"})

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({}, id="no-incident-id"),
            pytest.param({"incident_id": "943 476 5919"}, id="nhs-number"),
            pytest.param({"incident_id": "INC-1", "physical_harm": "catastrophic"}, id="harm"),
            pytest.param({"incident_id": "INC-1", "psychological_harm": "fatal"}, id="psych"),
        ],
    )
    def test_bad_opening_payload_is_refused(
        self, engine: Engine, payload: dict[str, object]
    ) -> None:
        """Ids are opaque and harm codes are LFPSE codes (psirf-rules §7.2, §8.1)."""
        with pytest.raises(InvalidPayload):
            engine.open("incident_intake", actor=REPORTER, payload=payload)

    def test_lfpse_record_can_be_updated_before_a_decision(self, engine: Engine) -> None:
        """Harm levels may be revised as facts become clearer (psirf-rules §0.5 rule 8)."""
        case_id = _under_review(engine)

        outcome = engine.fire(
            case_id, "update_incident_record", actor=PSS, payload={"physical_harm": "fatal"}
        )

        assert outcome.case.state == "under_review"
        assert outcome.case.facts["physical_harm"] == "fatal"
        assert outcome.case.facts["psychological_harm"] == "moderate"


class TestTriage:
    """Triage is recorded as opaque rule references (psirf-rules §6 stage 2, §0.5 rule 10)."""

    def test_triage_is_recorded_with_its_rule_references(self, engine: Engine) -> None:
        """National rules, plan priorities and plan version are kept as facts (§9.4)."""
        case_id = _under_review(engine, triage={**NEVER_EVENT_TRIAGE, "plan_priority_ids": ["p1"]})

        facts = engine.get(case_id, reader=READER).facts
        assert facts["national_rule_refs"] == (NEVER_EVENT,)
        assert facts["national_psii_rule_refs"] == (NEVER_EVENT,)
        assert facts["plan_priority_ids"] == ("p1",)
        assert facts["plan_ref"] == PLAN
        assert facts["triaged_by"] == PSS.id
        assert engine.history(case_id, reader=READER)[-1].rules == ("psirf.triage.order@1",)

    def test_psii_rule_must_be_a_recorded_national_rule(self, engine: Engine) -> None:
        """A rule said to require a PSII is one of the national rules (psirf-rules §3)."""
        case_id = _under_review(engine)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "record_triage",
                actor=PSS,
                payload={"plan_ref": PLAN, "national_psii_rule_refs": [NEVER_EVENT]},
            )

        assert _failed_codes(error) == ("psii_rule_not_in_national_rules",)

    def test_recording_triage_again_replaces_it(self, engine: Engine) -> None:
        """A re-triage replaces every triage fact, so stale flags do not linger (§6 stage 2)."""
        case_id = _under_review(engine, triage={"executive_decision_required": True})

        engine.fire(case_id, "record_triage", actor=PSS, payload={"plan_ref": "plan-rx1@4"})

        facts = engine.get(case_id, reader=READER).facts
        assert "executive_decision_required" not in facts
        assert facts["plan_ref"] == "plan-rx1@4"

    def test_triage_needs_the_review_started(self, engine: Engine) -> None:
        """Triage happens under review, after the report (psirf-rules §9.0)."""
        case_id = _open(engine)

        with pytest.raises(TransitionNotAllowed):
            engine.fire(case_id, "record_triage", actor=PSS, payload={"plan_ref": PLAN})


#: Re-triage after a national requirement was recorded (psirf-rules §3, §5 rule 7): the
#: first triage, whether the executive overrode the Never Event in between, the second
#: triage, and the reason code refusing it ("ok" when accepted).
RETRIAGE_ROWS = [
    pytest.param(NEVER_EVENT_TRIAGE, False, {}, "national_requirement_dropped", id="drop"),
    pytest.param(
        NEVER_EVENT_TRIAGE,
        False,
        {"national_rule_refs": [NEVER_EVENT]},
        "national_psii_requirement_dropped",
        id="psii-to-referral",
    ),
    pytest.param(
        NEVER_EVENT_TRIAGE,
        False,
        {"national_rule_refs": [DEATH_IN_CARE], "national_psii_rule_refs": [DEATH_IN_CARE]},
        "national_requirement_dropped",
        id="swap-rule",
    ),
    pytest.param(
        {"national_rule_refs": [CHILD_DEATH]},
        False,
        {"national_rule_refs": [SAFEGUARDING]},
        "national_requirement_dropped",
        id="drop-referral",
    ),
    pytest.param(NEVER_EVENT_TRIAGE, False, NEVER_EVENT_TRIAGE, "ok", id="same"),
    pytest.param(
        NEVER_EVENT_TRIAGE,
        False,
        {
            "national_rule_refs": [NEVER_EVENT, CHILD_DEATH],
            "national_psii_rule_refs": [NEVER_EVENT],
        },
        "ok",
        id="add-rule",
    ),
    pytest.param(NEVER_EVENT_TRIAGE, True, {}, "ok", id="overridden-then-dropped"),
    pytest.param(
        NEVER_EVENT_TRIAGE,
        True,
        {"national_rule_refs": [NEVER_EVENT]},
        "ok",
        id="overridden-psii-to-referral",
    ),
    pytest.param({}, False, {}, "ok", id="none-recorded"),
]


class TestStickyNationalRequirement:
    """A recorded national requirement survives re-triage unless overridden (§3, §5 rule 7)."""

    @pytest.mark.parametrize(("first", "overridden", "second", "expected"), RETRIAGE_ROWS)
    def test_retriage_table(
        self,
        engine: Engine,
        first: Mapping[str, object],
        overridden: bool,
        second: Mapping[str, list[str]],
        expected: str,
    ) -> None:
        """Re-triage keeps every recorded rule and its PSII need, unless overridden first."""
        case_id = _under_review(engine, triage=first)
        if overridden:
            engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)
        before = engine.get(case_id, reader=READER)
        payload = {"plan_ref": PLAN, **second}

        if expected == "ok":
            engine.fire(case_id, "record_triage", actor=PSS, payload=payload)
            after = engine.get(case_id, reader=READER)
            assert after.version == before.version + 1
            assert after.facts.get("national_rule_refs", ()) == tuple(
                sorted(second.get("national_rule_refs", []))
            )
            return
        with pytest.raises(GuardFailed) as error:
            engine.fire(case_id, "record_triage", actor=PSS, payload=payload)

        assert _failed_codes(error) == (expected,)
        assert "executive lead's override" in str(error.value)
        assert engine.get(case_id, reader=READER) == before
        assert len(engine.history(case_id, reader=READER)) == before.version

    def test_refused_drop_keeps_the_requirement_and_its_retention(self, engine: Engine) -> None:
        """Without the override the Never Event still blocks 'no further response' (§3 row 1)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        with pytest.raises(GuardFailed):
            engine.fire(case_id, "record_triage", actor=PSS, payload={"plan_ref": PLAN})

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "decide_no_further_response",
                actor=PSS,
                payload={"no_response_rationale": "no_new_learning"},
            )

        assert _failed_codes(error) == ("national_requirement_not_overridden",)
        assert engine.retention(case_id, reader=READER)[1].years == 20
        assert overridden_national_requirements(engine.history(case_id, reader=READER)) == []

    def test_override_then_retriage_is_listed_for_oversight(self, engine: Engine) -> None:
        """The only way to drop the rule is the override, which oversight lists (§5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)
        engine.fire(case_id, "record_triage", actor=PSS, payload={"plan_ref": PLAN})

        found = overridden_national_requirements(engine.history(case_id, reader=READER))

        assert [(o.case_id, o.rule_refs, o.actor_id) for o in found] == [
            (case_id, (NEVER_EVENT,), EXEC.id)
        ]
        assert "national_rule_refs" not in engine.get(case_id, reader=READER).facts


#: basis, actor, role acted in, triage, response type, extra payload, failed guard codes.
DecisionRow = tuple[
    str, Actor, Role | None, Mapping[str, object], str, Mapping[str, object], tuple[str, ...]
]
DECISIONS: list[DecisionRow] = [
    ("proportionate", PSS, None, {}, "after_action_review", {}, ()),
    ("proportionate", EXEC, None, {}, "after_action_review", {}, ()),
    ("local_priority", PSS, None, {"plan_priority_ids": ["falls"]}, "aar", {}, ()),
    ("local_priority", PSS, None, {}, "aar", {"plan_priority_id": "falls"}, ()),
    ("local_priority", PSS, None, {}, "aar", {}, ("basis_without_plan_priority",)),
    ("emergent_risk", PSS, None, {}, "psii", {}, ("executive_decision_required",)),
    ("emergent_risk", EXEC, None, {}, "psii", {}, ()),
    ("emergent_risk", BOTH, None, {}, "psii", {}, ("executive_decision_required",)),
    ("emergent_risk", BOTH, Role.EXECUTIVE_LEAD, {}, "psii", {}, ()),
    (
        "proportionate",
        PSS,
        None,
        {"executive_decision_required": True},
        "aar",
        {},
        ("executive_decision_required",),
    ),
    ("proportionate", EXEC, None, {"executive_decision_required": True}, "aar", {}, ()),
    ("national_requirement", PSS, None, NEVER_EVENT_TRIAGE, "psii", {}, ()),
    ("national_requirement", PSS, None, {}, "psii", {}, ("basis_without_national_rule",)),
    (
        "national_requirement",
        PSS,
        None,
        NEVER_EVENT_TRIAGE,
        "after_action_review",
        {},
        ("national_requirement_requires_psii",),
    ),
    (
        "proportionate",
        PSS,
        None,
        {"national_rule_refs": [CHILD_DEATH]},
        "aar",
        {},
        ("national_requirement_requires_referral",),
    ),
    (
        "national_requirement",
        EXEC,
        None,
        {
            "national_rule_refs": [NEVER_EVENT, SAFEGUARDING],
            "national_psii_rule_refs": [NEVER_EVENT],
        },
        "psii",
        {},
        ("national_requirement_requires_referral",),
    ),
    (
        "emergent_risk",
        PSS,
        None,
        NEVER_EVENT_TRIAGE,
        "swarm_huddle",
        {},
        ("executive_decision_required", "national_requirement_requires_psii"),
    ),
]
DECISION_IDS = [
    "proportionate-specialist",
    "proportionate-executive",
    "priority-from-triage",
    "priority-named-in-decision",
    "priority-missing",
    "emergent-specialist",
    "emergent-executive",
    "emergent-dual-role-acting-as-specialist",
    "emergent-dual-role-acting-as-executive",
    "executive-flag-specialist",
    "executive-flag-executive",
    "never-event-psii",
    "national-basis-without-rule",
    "never-event-other-response",
    "referral-rule-not-referred",
    "psii-rule-and-referral-rule",
    "every-failure-listed",
]


class TestDecideResponse:
    """The response follows the decision order of psirf-rules §0.5 rule 1 and §9.0."""

    @pytest.mark.parametrize("row", DECISIONS, ids=DECISION_IDS)
    def test_decision_table(self, engine: Engine, row: DecisionRow) -> None:
        """Each basis and role is accepted or refused with the table's codes (§1, §3, §5)."""
        basis, actor, role, triage, response_type, extra, refused = row
        case_id = _under_review(engine, triage=triage)
        payload = {
            "response_type": response_type,
            "basis": basis,
            "rationale": "learning_opportunity",
            **extra,
        }

        if refused:
            with pytest.raises(GuardFailed) as error:
                engine.fire(case_id, "decide_response", actor=actor, role=role, payload=payload)
            assert _failed_codes(error) == refused
            assert engine.get(case_id, reader=READER).state == "under_review"
        else:
            outcome = engine.fire(
                case_id, "decide_response", actor=actor, role=role, payload=payload
            )
            assert outcome.case.state == "response_decided"
            assert outcome.case.facts["decided_by"] == actor.id
            assert outcome.case.facts["response_type"] == response_type
            assert outcome.case.facts["basis"] == basis

    def test_decision_needs_recorded_triage(self, engine: Engine) -> None:
        """The decision follows a recorded triage with its rule references (§6 stage 2)."""
        case_id = _under_review(engine, triage=None)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "decide_response",
                actor=PSS,
                payload={"response_type": "aar", "basis": "proportionate", "rationale": "other"},
            )

        assert _failed_codes(error) == ("triage_not_recorded",)

    def test_reporter_cannot_decide(self, engine: Engine) -> None:
        """Only the patient safety team or the executive lead decide (psirf-rules §5)."""
        case_id = _under_review(engine, triage={})

        with pytest.raises(RoleNotPermitted):
            engine.fire(
                case_id,
                "decide_response",
                actor=REPORTER,
                payload={"response_type": "aar", "basis": "proportionate", "rationale": "other"},
            )

    def test_free_text_note_is_digested(self, engine: Engine) -> None:
        """A decision note never reaches the audit trail as text (psirf-rules §7.2)."""
        case_id = _under_review(engine, triage={})

        outcome = engine.fire(
            case_id,
            "decide_response",
            actor=PSS,
            payload={
                "response_type": "round_table_review",
                "basis": "proportionate",
                "rationale": "other",
                "decision_note": "Ward 7 staff raised concerns",
            },
        )

        note = outcome.entry.data["decision_note"]
        assert isinstance(note, str)
        assert note.startswith("sha256:")
        assert "Ward" not in repr(outcome.entry.content())


# triage, overrides (None for none), actor, expected failed guard codes
NO_RESPONSE = [
    ({}, None, PSS, ()),
    (NEVER_EVENT_TRIAGE, None, PSS, ("national_requirement_not_overridden",)),
    ({"national_rule_refs": [CHILD_DEATH]}, None, EXEC, ("national_requirement_not_overridden",)),
    (NEVER_EVENT_TRIAGE, [NEVER_EVENT], PSS, ()),
    (
        {"national_rule_refs": [NEVER_EVENT, CHILD_DEATH]},
        [NEVER_EVENT],
        PSS,
        ("national_requirement_not_overridden",),
    ),
    ({"executive_decision_required": True}, None, PSS, ("executive_decision_required",)),
    ({"executive_decision_required": True}, None, EXEC, ()),
]


class TestNoFurtherResponse:
    """No further response is refused while a national requirement stands (§3, §5 rule 7)."""

    @pytest.mark.parametrize(
        ("triage", "overridden", "actor", "refused"),
        NO_RESPONSE,
        ids=[
            "nothing-national",
            "never-event",
            "referral-rule",
            "never-event-overridden",
            "one-of-two-overridden",
            "executive-flag-specialist",
            "executive-flag-executive",
        ],
    )
    def test_no_further_response_table(
        self,
        engine: Engine,
        triage: Mapping[str, object],
        overridden: list[str] | None,
        actor: Actor,
        refused: tuple[str, ...],
    ) -> None:
        """Accepted only when every national rule was set aside by an executive (§5 rule 7)."""
        case_id = _under_review(engine, triage=triage)
        if overridden is not None:
            engine.fire(
                case_id,
                "override_national_requirement",
                actor=EXEC,
                payload={**OVERRIDE, "overridden_rule_refs": overridden},
            )
        payload = {"no_response_rationale": "no_new_learning"}

        if refused:
            with pytest.raises(GuardFailed) as error:
                engine.fire(case_id, "decide_no_further_response", actor=actor, payload=payload)
            assert _failed_codes(error) == refused
        else:
            outcome = engine.fire(
                case_id, "decide_no_further_response", actor=actor, payload=payload
            )
            assert outcome.case.state == "no_further_response"
            assert outcome.case.facts["decided_by"] == actor.id

    def test_rationale_is_required(self, engine: Engine) -> None:
        """The decision records a rationale code (psirf-rules §6 stage 2)."""
        case_id = _under_review(engine, triage={})

        with pytest.raises(InvalidPayload):
            engine.fire(case_id, "decide_no_further_response", actor=PSS, payload={})

    def test_re_triage_after_override_brings_back_a_new_rule(self, engine: Engine) -> None:
        """An override covers only the rules it names; a new rule needs its own (§5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)
        engine.fire(
            case_id,
            "record_triage",
            actor=PSS,
            payload={"plan_ref": PLAN, "national_rule_refs": [NEVER_EVENT, DEATH_IN_CARE]},
        )

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "decide_no_further_response",
                actor=PSS,
                payload={"no_response_rationale": "no_new_learning"},
            )

        assert _failed_codes(error) == ("national_requirement_not_overridden",)
        assert DEATH_IN_CARE in str(error.value)


class TestOverride:
    """Setting aside a national requirement: executive lead, reason, flagged (§5 rule 7)."""

    @pytest.mark.parametrize("actor", [PSS, REPORTER], ids=["specialist", "reporter"])
    def test_only_the_executive_lead_overrides(self, engine: Engine, actor: Actor) -> None:
        """Anyone but the executive lead is refused by role (psirf-rules §5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)

        with pytest.raises(RoleNotPermitted):
            engine.fire(case_id, "override_national_requirement", actor=actor, payload=OVERRIDE)

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({k: v for k, v in OVERRIDE.items() if k != "override_reason"}, id="none"),
            pytest.param({**OVERRIDE, "override_reason": "board_said_so"}, id="unknown-code"),
            pytest.param({**OVERRIDE, "override_reason": "I disagree"}, id="free-text"),
        ],
    )
    def test_override_needs_a_reason_code(self, engine: Engine, payload: dict[str, object]) -> None:
        """An override without a recognised reason code is refused (psirf-rules §5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)

        with pytest.raises(InvalidPayload):
            engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=payload)

    @pytest.mark.parametrize(
        ("triage", "changes", "refused"),
        [
            pytest.param(
                NEVER_EVENT_TRIAGE,
                {"national_requirement_overridden": False},
                ("override_not_confirmed",),
                id="not-confirmed",
            ),
            pytest.param(
                NEVER_EVENT_TRIAGE,
                {"overridden_rule_refs": [CHILD_DEATH]},
                ("override_rule_not_in_triage",),
                id="rule-not-recorded",
            ),
            pytest.param(
                NEVER_EVENT_TRIAGE,
                {"overridden_rule_refs": []},
                ("override_rules_missing",),
                id="no-rule",
            ),
            pytest.param(
                None,
                {},
                ("triage_not_recorded", "override_rule_not_in_triage"),
                id="before-triage",
            ),
        ],
    )
    def test_override_guards(
        self,
        engine: Engine,
        triage: Mapping[str, object] | None,
        changes: Mapping[str, object],
        refused: tuple[str, ...],
    ) -> None:
        """Only national rules recorded at triage are set aside, explicitly (§5 rule 7)."""
        case_id = _under_review(engine, triage=triage)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "override_national_requirement",
                actor=EXEC,
                payload={**OVERRIDE, **changes},
            )

        assert _failed_codes(error) == refused

    def test_override_is_recorded_and_flagged(self, engine: Engine) -> None:
        """The override sets its facts and its audit entry carries the flag (§5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)

        outcome = engine.fire(
            case_id,
            "override_national_requirement",
            actor=EXEC,
            payload={**OVERRIDE, "override_note": "Reviewed by the medical director"},
        )

        facts = outcome.case.facts
        assert outcome.case.state == "under_review"
        assert facts["national_requirement_overridden"] is True
        assert facts["overridden_rule_refs"] == (NEVER_EVENT,)
        assert facts["overridden_by"] == EXEC.id
        assert outcome.entry.rules == (NATIONAL_OVERRIDE_RULE,)
        assert outcome.entry.data["override_reason"] == "criteria_not_met_on_review"
        assert "medical director" not in repr(outcome.entry.content())

    def test_override_allows_another_response_than_psii(self, engine: Engine) -> None:
        """After an override a Never Event may get another response (§3 row 1, §5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)

        outcome = engine.fire(
            case_id,
            "decide_response",
            actor=PSS,
            payload={
                "response_type": "after_action_review",
                "basis": "proportionate",
                "rationale": "other",
            },
        )

        assert outcome.case.state == "response_decided"

    def test_options_explain_the_refusals(self, engine: Engine) -> None:
        """What the specialist may do names the override rule and the role (§5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)

        found = {o.trigger: o for o in engine.options(case_id, PSS)}

        no_response = found["decide_no_further_response"]
        assert not no_response.allowed
        assert no_response.reason_codes == ("national_requirement_not_overridden",)
        assert found["override_national_requirement"].reason_codes == ("role_not_permitted",)
        assert found["decide_response"].allowed
        assert "national_psii_respected" in found["decide_response"].checked_on_fire


class TestOversight:
    """Overrides are listed for board and ICB dashboards (§5 rule 7, §9.4 escalation matrix)."""

    def test_override_appears_in_the_oversight_query(self, engine: Engine) -> None:
        """The executive's override is found in the case's audit trail (§5 rule 7)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)
        engine.fire(
            case_id,
            "decide_no_further_response",
            actor=EXEC,
            payload={"no_response_rationale": "learning_captured_elsewhere"},
        )
        history = engine.history(case_id, reader=READER)

        found = overridden_national_requirements(history)

        assert found == [
            NationalOverride(
                case_id=case_id,
                sequence=4,
                workflow="incident_intake",
                organisation=ORG,
                actor_id=EXEC.id,
                role="executive_lead",
                rule_refs=(NEVER_EVENT,),
                reason_code="criteria_not_met_on_review",
                recorded_at=history[3].recorded_at,
                entry_hash=history[3].hash,
            )
        ]

    def test_cases_without_override_list_nothing(self, engine: Engine) -> None:
        """A PSII decided under a national rule is not an override (§3 row 1)."""
        case_id = _under_review(engine, triage=NEVER_EVENT_TRIAGE)
        engine.fire(
            case_id,
            "decide_response",
            actor=PSS,
            payload={
                "response_type": "psii",
                "basis": "national_requirement",
                "rationale": "national_requirement_applies",
            },
        )

        assert overridden_national_requirements(engine.history(case_id, reader=READER)) == []

    def test_listing_is_oldest_first_across_cases(self, clock: ManualClock) -> None:
        """Overrides from many cases are listed oldest first in any input order (§9.4)."""
        engine = Engine(InMemoryStore(), clock=clock)
        for case_id in ("INT-B", "INT-A"):
            _under_review(engine, case_id, triage=NEVER_EVENT_TRIAGE)
            clock.advance(timedelta(hours=1))
            engine.fire(case_id, "override_national_requirement", actor=EXEC, payload=OVERRIDE)
        entries = [
            e for c in ("INT-A", "INT-B") for e in reversed(engine.history(c, reader=READER))
        ]

        found = overridden_national_requirements(entries)

        assert [o.case_id for o in found] == ["INT-B", "INT-A"]

    @pytest.mark.parametrize(
        ("data", "refs", "reason"),
        [
            pytest.param({"overridden_rule_refs": NEVER_EVENT}, (NEVER_EVENT,), "", id="one-ref"),
            pytest.param({"override_reason": 3}, (), "", id="odd-values"),
            pytest.param({}, (), "", id="no-details"),
        ],
    )
    def test_entries_from_other_workflows_are_read_safely(
        self, data: dict[str, object], refs: tuple[str, ...], reason: str
    ) -> None:
        """An override entry recorded by another workflow is listed, whatever its data (§9.4)."""
        entry = make_entry(
            case_id="LR-1",
            sequence=1,
            workflow="local_workflow",
            workflow_version="1",
            trigger="override",
            from_state=None,
            to_state="open",
            actor_id=EXEC.id,
            role="executive_lead",
            organisation=ORG,
            guards=(),
            rules=(NATIONAL_OVERRIDE_RULE,),
            data=data,  # type: ignore[arg-type]
            recorded_at=datetime(2026, 1, 5, tzinfo=UTC),
            previous_hash=GENESIS_HASH,
        )

        (found,) = overridden_national_requirements([entry])

        assert found.rule_refs == refs
        assert found.reason_code == reason


@given(
    national=st.sets(st.sampled_from(PSII_RULES + REFERRAL_RULES), max_size=4),
    psii_share=st.sets(st.sampled_from(PSII_RULES)),
    overridden=st.sets(st.sampled_from(PSII_RULES + REFERRAL_RULES), max_size=4),
    response_type=st.sampled_from(["psii", "after_action_review", "swarm_huddle"]),
)
def test_national_requirements_are_never_silently_set_aside(
    national: set[str], psii_share: set[str], overridden: set[str], response_type: str
) -> None:
    """No response skips a national rule unless an executive overrode it (§3, §5 rule 7)."""
    engine = Engine(InMemoryStore(), clock=ManualClock())
    psii_rules = psii_share & national
    overridden &= national
    case_id = _under_review(
        engine,
        triage={
            "national_rule_refs": sorted(national),
            "national_psii_rule_refs": sorted(psii_rules),
        },
    )
    if overridden:
        engine.fire(
            case_id,
            "override_national_requirement",
            actor=EXEC,
            payload={**OVERRIDE, "overridden_rule_refs": sorted(overridden)},
        )
    outstanding = national - overridden
    decisions = {
        "decide_no_further_response": (
            {"no_response_rationale": "no_new_learning"},
            not outstanding,
        ),
        "decide_response": (
            {"response_type": response_type, "basis": "proportionate", "rationale": "other"},
            not (outstanding - psii_rules) and (not outstanding or response_type == "psii"),
        ),
    }

    for trigger, (payload, allowed) in decisions.items():
        available = {o.trigger: o for o in engine.options(case_id, EXEC)}[trigger]
        try:
            engine.fire(case_id, trigger, actor=EXEC, payload=payload)
        except GuardFailed:
            accepted = False
        else:
            accepted = True
        assert accepted is allowed
        if accepted:
            assert available.allowed
            break
