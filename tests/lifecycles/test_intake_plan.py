"""The intake under the trust's plan: versions in flight, decisions within the plan, deciders.

psirf-rules §1.8 (a plan is revised; cases in flight keep the version they started with),
§0.5 rule 1 and §6 stage 2 (the planned response is confirmed or changed case by case), §3
(national requirements come first) and §5 (who decides is the plan's local choice: a role
or a committee whose member records the decision with the meeting's reference).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from psirf_flow import (
    Actor,
    CommandRejected,
    DefinitionRegistry,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidInput,
    InvalidPayload,
    PlanVersionUnavailable,
    Role,
)
from psirf_flow.domain import SystemReader
from psirf_flow.oversight import PlanDeparture, plan_departures
from psirf_flow.policy import (
    IncidentFacts,
    NationalRuleSet,
    Plan,
    intake_payload,
    load_national_rules,
    load_plan,
    triage,
)
from psirf_flow.policy.governance import (
    GOVERNANCE_FACTS,
    GOVERNING_PLAN_FACT,
    GOVERNING_RULES_FACT,
)
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import learning_response_id
from psirf_flow.workflows.intake import PLAN_DEPARTURE_RULE


READER = SystemReader("test-suite")
ORG = "RX1"
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
SENIOR = Actor("sl-1", [Role.SENIOR_LEADER], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
MEMBER = Actor("psg-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG, committees={"psg"})
NOT_MEMBER = Actor("pss-2", [Role.PATIENT_SAFETY_SPECIALIST], ORG)

PLAN_V1 = """\
schema = 1

[plan]
id = "rx1-psirp"
version = "1"
organisation = "RX1"
effective_from = 2026-04-01
review_date = 2027-01-31

[committees.psg]
title = "Patient safety group"
kind = "committee"

[response_types.psii]
maps_to = "psii"
decided_by = "executive_lead"
sign_off = [{ role = "executive_lead" }]

[response_types.after_action_review]
maps_to = "after_action_review"
sign_off = [{ role = "senior_leader" }]

[response_types.swarm_huddle]
maps_to = "swarm_huddle"
sign_off = [{ role = "senior_leader" }]

[triage.proportionate]
allowed = ["after_action_review", "swarm_huddle"]
no_further_response_allowed = true

[[priorities]]
id = "falls"
criteria = { fact = "categories", includes = "falls" }
responses = { allowed = ["after_action_review", "psii"], default = "after_action_review" }
decided_by = "senior_leader"

[[priorities]]
id = "medication"
criteria = { fact = "categories", includes = "medication" }
responses = { allowed = ["swarm_huddle"], default = "swarm_huddle" }
decided_by = { committee = "psg" }
departure_permitted = true
"""
#: Version 2 narrows falls to a swarm huddle only.
PLAN_V2 = PLAN_V1.replace('version = "1"', 'version = "2"').replace(
    'responses = { allowed = ["after_action_review", "psii"], default = "after_action_review" }',
    'responses = { allowed = ["swarm_huddle"], default = "swarm_huddle" }',
)
FALLS: dict[str, Any] = {"categories": {"falls"}}
MEDICATION: dict[str, Any] = {"categories": {"medication"}}


@pytest.fixture(name="plans", scope="module")
def _plans() -> tuple[Plan, Plan]:
    """Versions 1 and 2 of the same plan."""
    return load_plan(PLAN_V1), load_plan(PLAN_V2)


@pytest.fixture(name="rules", scope="module")
def _rules() -> NationalRuleSet:
    """The shipped national rule pack."""
    return load_national_rules()


@pytest.fixture(name="store", params=["memory", "sqlite"])
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The in-memory store, then a migrated SQLite file."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    store = SqlStore.open(str(tmp_path / "cases.sqlite3"), migrate=True)
    try:
        yield store
    finally:
        store.dispose()


def _engine(store: Any, plan: Plan | None, rules: NationalRuleSet, **extra: Any) -> Engine:
    clock = ManualClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    return Engine(store, clock=clock, plan=plan, national_rules=rules, **extra)


def _triaged(engine: Engine, case_id: str, plan: Plan, rules: NationalRuleSet, **facts: Any) -> str:
    """An intake opened, under review and triaged under ``plan``."""
    engine.open(
        "incident_intake", actor=REPORTER, case_id=case_id, payload={"incident_id": case_id}
    )
    engine.fire(case_id, "begin_review", actor=PSS)
    advice = triage(IncidentFacts(incident_id=case_id, **facts), plan, rules)
    engine.fire(case_id, "record_triage", actor=PSS, payload=intake_payload(advice, rules))
    return case_id


def _decide(engine: Engine, case_id: str, actor: Actor, response: str, **extra: object) -> None:
    payload: dict[str, object] = {
        "response_type": response,
        "basis": "local_priority",
        "rationale": "plan_planned_response",
        **extra,
    }
    engine.fire(case_id, "decide_response", actor=actor, payload=payload)


def _codes(error: pytest.ExceptionInfo[CommandRejected]) -> tuple[str, ...]:
    assert isinstance(error.value, GuardFailed)
    return tuple(r.reason_code for r in error.value.failures)


class TestPlanVersions:
    """A new plan version governs new cases; cases in flight keep theirs (psirf-rules §1.8)."""

    def test_two_versions_in_flight_side_by_side(
        self, store: Any, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """A v1 case keeps v1's allowed responses after v2 becomes current; a v2 case has v2's."""
        v1, v2 = plans
        old = _triaged(_engine(store, v1, rules), "INT-OLD", v1, rules, **FALLS)
        engine = _engine(store, v2, rules, earlier_plans=[v1])
        new = _triaged(engine, "INT-NEW", v2, rules, **FALLS)

        _decide(engine, old, SENIOR, "after_action_review")
        with pytest.raises(GuardFailed) as refused:
            _decide(engine, new, SENIOR, "after_action_review")
        assert _codes(refused) == ("response_not_allowed_by_plan",)
        _decide(engine, new, SENIOR, "swarm_huddle")

        facts = {c: engine.get(c, reader=READER).facts for c in (old, new)}
        assert facts[old][GOVERNING_PLAN_FACT] == "rx1-psirp@1"
        assert facts[new][GOVERNING_PLAN_FACT] == "rx1-psirp@2"
        assert facts[old][GOVERNING_RULES_FACT] == facts[new][GOVERNING_RULES_FACT] == "2026.2"
        assert facts[old]["response_type"] == "after_action_review"
        assert facts[new]["response_type"] == "swarm_huddle"
        opening = engine.history(old, reader=READER)[0]
        assert opening.data[GOVERNING_PLAN_FACT] == "rx1-psirp@1"
        assert opening.data[GOVERNING_RULES_FACT] == "2026.2"
        assert engine.verify(old, reader=READER).ok

    def test_a_case_under_a_version_not_given_is_refused(
        self, store: Any, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """Without its version (or without any plan) a case is refused, naming only the refs."""
        v1, v2 = plans
        case_id = _triaged(_engine(store, v1, rules), "INT-1", v1, rules, **FALLS)
        for engine in (_engine(store, v2, rules), _engine(store, None, rules)):
            with pytest.raises(PlanVersionUnavailable) as refused:
                _decide(engine, case_id, SENIOR, "after_action_review")
            assert (refused.value.case_id, refused.value.plan_ref) == ("INT-1", "rx1-psirp@1")
            assert refused.value.rules_version == "2026.2"
            assert refused.value.code == "PSF610"
            with pytest.raises(PlanVersionUnavailable):
                engine.options(case_id, SENIOR)
        assert len(engine.history(case_id, reader=READER)) == 3

    def test_triage_is_recorded_under_the_governing_version(
        self, store: Any, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """Triage done under another plan version than the case's is refused."""
        v1, v2 = plans
        case_id = _triaged(_engine(store, v1, rules), "INT-1", v1, rules, **FALLS)
        engine = _engine(store, v2, rules, earlier_plans=[v1])
        advice = triage(IncidentFacts(incident_id="INT-1", **FALLS), v2, rules)
        with pytest.raises(GuardFailed) as refused:
            engine.fire(case_id, "record_triage", actor=PSS, payload=intake_payload(advice, rules))
        assert _codes(refused) == ("triage_plan_version_mismatch",)

    @pytest.mark.parametrize("fact", [GOVERNING_PLAN_FACT, GOVERNING_RULES_FACT])
    def test_a_payload_never_sets_the_versions(
        self, plans: tuple[Plan, Plan], rules: NationalRuleSet, fact: str
    ) -> None:
        """The versions are set by the engine: a payload naming them is refused, on any step."""
        engine = _engine(InMemoryStore(), plans[0], rules)
        with pytest.raises(InvalidPayload) as refused:
            engine.open(
                "incident_intake",
                actor=REPORTER,
                case_id="INT-1",
                payload={"incident_id": "INT-1", fact: "x"},
            )
        assert refused.value.problems == (
            f"{fact} is recorded by the engine from the plan it runs under, never given",
        )
        engine.open(
            "incident_intake", actor=REPORTER, case_id="INT-1", payload={"incident_id": "INT-1"}
        )
        with pytest.raises(InvalidPayload):
            engine.fire("INT-1", "begin_review", actor=PSS, payload={fact: "x"})

    def test_without_a_plan_nothing_is_recorded(self, rules: NationalRuleSet) -> None:
        """An engine without a plan records no versions and decides as before."""
        engine = _engine(InMemoryStore(), None, rules)
        engine.open(
            "incident_intake", actor=REPORTER, case_id="INT-1", payload={"incident_id": "INT-1"}
        )
        facts = engine.get("INT-1", reader=READER).facts
        assert GOVERNING_PLAN_FACT not in facts
        assert GOVERNING_RULES_FACT not in facts
        assert engine.plan_book is None

    def test_a_coupled_case_inherits_the_source_versions(
        self, store: Any, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """The learning response a v1 decision opens runs under v1, even after v2 is current."""
        v1, v2 = plans
        case_id = _triaged(_engine(store, v1, rules), "INT-1", v1, rules, **FALLS)
        engine = _engine(store, v2, rules, earlier_plans=[v1])
        _decide(engine, case_id, SENIOR, "after_action_review")
        sequence = engine.get(case_id, reader=READER).version
        OutboxRelay(engine, response_types=v2.response_variants()).run_once()

        opened = engine.get(learning_response_id(case_id, sequence), reader=READER)
        assert opened.facts[GOVERNING_PLAN_FACT] == "rx1-psirp@1"
        assert opened.facts[GOVERNING_RULES_FACT] == "2026.2"

    @pytest.mark.parametrize(
        ("extra", "argument"),
        [
            ({"earlier_plans": "v1"}, "earlier_plans"),
            ({"earlier_plans": [1]}, "earlier_plans"),
            ({"earlier_rules": [object()]}, "earlier_rules"),
        ],
    )
    def test_bad_earlier_versions_are_refused(
        self, plans: tuple[Plan, Plan], rules: NationalRuleSet, extra: Any, argument: str
    ) -> None:
        """Earlier versions must be lists of plans and rule packs."""
        with pytest.raises(InvalidInput) as refused:
            _engine(InMemoryStore(), plans[1], rules, **extra)
        assert refused.value.argument == argument

    def test_earlier_versions_need_a_current_plan(
        self, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """Earlier versions without a current plan are refused."""
        with pytest.raises(InvalidInput) as refused:
            _engine(InMemoryStore(), None, rules, earlier_plans=[plans[0]])
        assert refused.value.argument == "earlier_plans"

    def test_two_different_plans_with_one_version_are_refused(
        self, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """Two different plans claiming the same id@version cannot both be known."""
        v1, v2 = plans
        fake = load_plan(PLAN_V2.replace('version = "2"', 'version = "1"'))
        with pytest.raises(InvalidInput) as refused:
            _engine(InMemoryStore(), v2, rules, earlier_plans=[v1, fake])
        assert "rx1-psirp@1" in str(refused.value)


class TestDecisionsWithinThePlan:
    """The decision is one the plan allows, by the decider it names (psirf-rules §0.5, §5)."""

    @pytest.fixture(name="engine")
    def _plan_engine(self, plans: tuple[Plan, Plan], rules: NationalRuleSet) -> Engine:
        return _engine(InMemoryStore(), plans[0], rules)

    @pytest.mark.parametrize(
        ("facts", "actor", "response", "extra", "codes"),
        [
            pytest.param(FALLS, SENIOR, "after_action_review", {}, (), id="allowed"),
            pytest.param(FALLS, SENIOR, "psii", {}, (), id="allowed-psii"),
            pytest.param(
                FALLS,
                SENIOR,
                "swarm_huddle",
                {},
                ("response_not_allowed_by_plan",),
                id="not-allowed-no-departure",
            ),
            pytest.param(
                FALLS,
                SENIOR,
                "round_table",
                {},
                ("response_type_not_in_plan",),
                id="not-a-response-type",
            ),
            pytest.param(
                FALLS, PSS, "after_action_review", {}, ("decider_not_per_plan",), id="wrong-role"
            ),
            pytest.param(
                FALLS,
                SENIOR,
                "after_action_review",
                {"departure_reason": "other"},
                ("departure_reason_without_departure",),
                id="reason-without-departure",
            ),
            pytest.param(
                MEDICATION,
                MEMBER,
                "swarm_huddle",
                {"decider_committee": "psg", "meeting_ref": "PSG-2026-06"},
                (),
                id="committee-member",
            ),
            pytest.param(
                MEDICATION,
                NOT_MEMBER,
                "swarm_huddle",
                {"decider_committee": "psg", "meeting_ref": "PSG-2026-06"},
                ("not_a_committee_member",),
                id="not-a-member",
            ),
            pytest.param(
                MEDICATION,
                MEMBER,
                "swarm_huddle",
                {"decider_committee": "psg"},
                ("meeting_ref_required",),
                id="no-meeting-ref",
            ),
            pytest.param(
                MEDICATION,
                MEMBER,
                "swarm_huddle",
                {"meeting_ref": "PSG-2026-06"},
                ("committee_not_named",),
                id="committee-not-named",
            ),
            pytest.param(
                FALLS,
                SENIOR,
                "after_action_review",
                {"decider_committee": "psg", "meeting_ref": "PSG-1"},
                ("decider_committee_not_in_plan",),
                id="committee-where-a-role-decides",
            ),
            pytest.param(
                MEDICATION,
                MEMBER,
                "after_action_review",
                {"decider_committee": "psg", "meeting_ref": "PSG-1"},
                ("departure_reason_required",),
                id="departure-without-reason",
            ),
            pytest.param(
                MEDICATION,
                MEMBER,
                "after_action_review",
                {
                    "decider_committee": "psg",
                    "meeting_ref": "PSG-1",
                    "departure_reason": "greater_learning_opportunity",
                },
                (),
                id="departure-permitted-with-reason",
            ),
            pytest.param(
                {}, PSS, "after_action_review", {"basis": "proportionate"}, (), id="proportionate"
            ),
            pytest.param(
                {},
                SENIOR,
                "after_action_review",
                {"basis": "proportionate"},
                ("decider_not_per_plan",),
                id="proportionate-decided-by-the-specialist",
            ),
        ],
    )
    def test_response_decision(  # noqa: PLR0917 - table columns
        self,
        engine: Engine,
        plans: tuple[Plan, Plan],
        rules: NationalRuleSet,
        facts: dict[str, Any],
        actor: Actor,
        response: str,
        extra: dict[str, object],
        codes: tuple[str, ...],
    ) -> None:
        """Each row: the guard codes that refuse the decision, or none when it is accepted."""
        case_id = _triaged(engine, "INT-1", plans[0], rules, **facts)
        if codes:
            with pytest.raises(GuardFailed) as refused:
                _decide(engine, case_id, actor, response, **extra)
            assert _codes(refused) == codes
            return
        _decide(engine, case_id, actor, response, **extra)
        case = engine.get(case_id, reader=READER)
        assert (case.state, case.facts["response_type"]) == ("response_decided", response)
        entry = engine.history(case_id, reader=READER)[-1]
        assert PLAN_DEPARTURE_RULE in entry.rules
        assert entry.role == next(iter(actor.roles)).value
        assert entry.data.get("decider_committee") == extra.get("decider_committee")

    def test_departures_are_listed_for_oversight(
        self, engine: Engine, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """Only the decision that departed from the plan is listed, with its reason."""
        departed = _triaged(engine, "INT-1", plans[0], rules, **MEDICATION)
        _decide(
            engine,
            departed,
            MEMBER,
            "after_action_review",
            decider_committee="psg",
            meeting_ref="PSG-1",
            departure_reason="greater_learning_opportunity",
        )
        kept = _triaged(engine, "INT-2", plans[0], rules, **FALLS)
        _decide(engine, kept, SENIOR, "after_action_review")
        entries = [
            *engine.history(departed, reader=READER),
            *engine.history(kept, reader=READER),
        ]
        entry = engine.history(departed, reader=READER)[-1]

        assert plan_departures(entries) == [
            PlanDeparture(
                case_id=departed,
                sequence=entry.sequence,
                workflow="incident_intake",
                organisation=ORG,
                actor_id=MEMBER.id,
                role="patient_safety_specialist",
                committee="psg",
                response_type="after_action_review",
                plan_priority_id=None,
                reason_code="greater_learning_opportunity",
                recorded_at=entry.recorded_at,
                entry_hash=entry.hash,
            )
        ]

    @pytest.mark.parametrize(
        ("facts", "actor", "allowed"),
        [
            pytest.param(FALLS, SENIOR, False, id="priority-forbids"),
            pytest.param({}, PSS, True, id="proportionate-allows"),
        ],
    )
    def test_no_further_response(  # noqa: PLR0917 - table columns
        self,
        engine: Engine,
        plans: tuple[Plan, Plan],
        rules: NationalRuleSet,
        facts: dict[str, Any],
        actor: Actor,
        allowed: bool,
    ) -> None:
        """No further response only where the plan allows it."""
        case_id = _triaged(engine, "INT-1", plans[0], rules, **facts)
        payload = {"no_response_rationale": "no_new_learning"}
        if allowed:
            engine.fire(case_id, "decide_no_further_response", actor=actor, payload=payload)
            assert engine.get(case_id, reader=READER).state == "no_further_response"
            return
        with pytest.raises(GuardFailed) as refused:
            engine.fire(case_id, "decide_no_further_response", actor=actor, payload=payload)
        assert _codes(refused) == ("no_further_response_not_allowed_by_plan",)

    def test_a_national_psii_is_decided_as_the_plan_says(
        self, engine: Engine, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """A Never Event on a falls priority: only the PSII, by the PSII's decider."""
        facts = {**FALLS, "never_event_type": "falls_from_poorly_restricted_windows"}
        case_id = _triaged(engine, "INT-1", plans[0], rules, **facts)
        with pytest.raises(GuardFailed) as refused:
            _decide(engine, case_id, SENIOR, "after_action_review", basis="national_requirement")
        assert set(_codes(refused)) == {
            "decider_not_per_plan",
            "national_requirement_requires_psii",
            "response_not_allowed_by_plan",
        }
        _decide(engine, case_id, EXEC, "psii", basis="national_requirement")
        assert engine.get(case_id, reader=READER).state == "response_decided"

    def test_without_a_plan_a_senior_leader_does_not_decide(self, rules: NationalRuleSet) -> None:
        """Without a plan, the specialist or the executive lead decides (today's rule)."""
        engine = _engine(InMemoryStore(), None, rules)
        engine.open(
            "incident_intake", actor=REPORTER, case_id="INT-1", payload={"incident_id": "INT-1"}
        )
        engine.fire("INT-1", "begin_review", actor=PSS)
        engine.fire("INT-1", "record_triage", actor=PSS, payload={"plan_ref": "any@1"})
        with pytest.raises(GuardFailed) as refused:
            _decide(engine, "INT-1", SENIOR, "anything", basis="proportionate")
        assert _codes(refused) == ("decider_role_not_permitted",)
        _decide(engine, "INT-1", PSS, "anything", basis="proportionate")


def test_recorded_payload_carries_what_the_guards_need(
    plans: tuple[Plan, Plan], rules: NationalRuleSet
) -> None:
    """The intake payload of a triage names the plan, priorities and national PSII rules."""
    advice = triage(
        IncidentFacts(incident_id="I", never_event_type="scalding_of_patients", **FALLS),
        plans[0],
        rules,
    )
    payload: Mapping[str, object] = intake_payload(advice, rules)
    assert payload == {
        "national_rule_refs": ["never_event@2"],
        "national_psii_rule_refs": ["never_event@2"],
        "plan_priority_ids": ["rx1-psirp@1#falls"],
        "plan_ref": "rx1-psirp@1",
        "executive_decision_required": False,
        "recommended_response": "psii",
    }


class TestExecutiveDecisionsUnderThePlan:
    """Where an executive must decide, the plan's emergent-risk decider decides (§1 (c), §5)."""

    @pytest.fixture(name="committee_plan")
    def _committee_plan(self) -> Plan:
        """Version 1 with emergent risks given to the patient safety group."""
        return load_plan(
            PLAN_V1.replace(
                "[triage.proportionate]",
                '[triage.emergent_risk]\ndecided_by = { committee = "psg" }\n\n'
                "[triage.proportionate]",
            )
        )

    @pytest.mark.parametrize(
        ("actor", "extra", "codes"),
        [
            pytest.param(
                MEMBER, {"decider_committee": "psg", "meeting_ref": "PSG-7"}, (), id="member"
            ),
            pytest.param(EXEC, {}, ("executive_decision_required",), id="executive-not-named"),
        ],
    )
    def test_emergent_risk_decided_by_a_committee(
        self,
        committee_plan: Plan,
        rules: NationalRuleSet,
        actor: Actor,
        extra: dict[str, object],
        codes: tuple[str, ...],
    ) -> None:
        """A plan giving emergent risks to a committee: a member decides, the executive not."""
        engine = _engine(InMemoryStore(), committee_plan, rules)
        case_id = _triaged(engine, "INT-1", committee_plan, rules, emergent_risk=True)
        payload = {"basis": "emergent_risk", "rationale": "significant_risk_identified", **extra}
        if codes:
            with pytest.raises(GuardFailed) as refused:
                _decide(engine, case_id, actor, "psii", **payload)
            assert _codes(refused) == codes
            return
        _decide(engine, case_id, actor, "psii", **payload)
        entry = engine.history(case_id, reader=READER)[-1]
        assert (entry.data["decider_committee"], entry.data["meeting_ref"]) == ("psg", "PSG-7")

    def test_options_let_a_senior_leader_decide_where_the_plan_says(
        self, plans: tuple[Plan, Plan], rules: NationalRuleSet
    ) -> None:
        """A senior leader is offered the decision; the plan's checks are made on firing."""
        engine = _engine(InMemoryStore(), plans[0], rules)
        case_id = _triaged(engine, "INT-1", plans[0], rules, **FALLS)
        found = {o.trigger: o for o in engine.options(case_id, SENIOR)}["decide_response"]
        assert found.allowed
        assert {"decider_per_plan", "response_within_plan"} <= set(found.checked_on_fire)


def test_no_step_writes_or_clears_the_versions() -> None:
    """No built-in step declares, clears or stamps the facts only the engine sets."""
    for definition in DefinitionRegistry.default():
        named = {f.name for f in definition.opening.fields}
        for spec in definition.transitions.values():
            named |= {f.name for f in spec.fields}
            named |= set(spec.clears)
            named |= {f for f in (spec.actor_fact, spec.stamp_fact) if f is not None}
        assert not named & GOVERNANCE_FACTS, definition.name
