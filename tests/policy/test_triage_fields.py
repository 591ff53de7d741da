"""Triage field by field: every field of a recommendation, and the intake payload it writes.

Each row is an incident and the whole :class:`Recommendation` triage must return for it
under the example plan (with one priority scoped to a patient group added), so a wrong
pathway, default, allowed list, decider, flag, reference or retention class fails a test.
The order of the steps is psirf-rules §0.5 rule 1, §1 and §6 stage 2; national rules are
psirf-rules §3.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from psirf_flow.domain import Role
from psirf_flow.policy import (
    Decider,
    IncidentFacts,
    LifecycleVariant,
    LocalResponse,
    NationalRuleSet,
    Pathway,
    Plan,
    RequiredResponse,
    load_plan,
    triage,
)
from psirf_flow.policy.triage import (
    OverrideRequirement,
    Recommendation,
    Referral,
    intake_payload,
)


#: A priority scoped to one patient group, added before the thematic reviews.
YOUNG_PEOPLE = """
[[priorities]]
id = "young-people-absconding"
title = "Absconding of young people"
scope = { patient_groups = ["under_18"] }
criteria = { fact = "categories", includes = "absconding" }
responses = { allowed = ["swarm_huddle", "after_action_review"], default = "swarm_huddle" }
decided_by = "senior_leader"

"""
THEMATIC_MARK = (
    "# ------------------------------------------------------------------ thematic reviews"
)
PLAN = "rx9-psirp@2.0"
PSS = Role.PATIENT_SAFETY_SPECIALIST
#: The example plan's proportionate responses, in plan order.
PROPORTIONATE = ("after_action_review", "swarm_huddle", "hot_debrief", "rapid_review")
#: Every response type of the example plan, in plan order.
EVERY_TYPE = (
    "psii",
    "after_action_review",
    "swarm_huddle",
    "hot_debrief",
    "round_table_review",
    "rapid_review",
    "thematic_review",
)


@pytest.fixture(name="plan", scope="module")
def _plan(example_text: str) -> Plan:
    """The example plan with a patient-group priority added."""
    assert THEMATIC_MARK in example_text
    text = example_text.replace(THEMATIC_MARK, YOUNG_PEOPLE + THEMATIC_MARK, 1)
    return load_plan(text, source="example-with-patient-group.toml")


@pytest.fixture(name="open_plan", scope="module")
def _open_plan(example_text: str) -> Plan:
    """The example plan with no allowed lists for emergent risk or proportionate responses."""
    emergent = 'allowed = ["psii", "round_table_review", "after_action_review"]\n'
    proportionate = (
        'allowed = ["after_action_review", "swarm_huddle", "hot_debrief", "rapid_review"]\n'
    )
    assert emergent in example_text
    assert proportionate in example_text
    text = example_text.replace(emergent, "").replace(proportionate, "")
    return load_plan(text, source="example-open.toml")


def recommendation(**fields: Any) -> Recommendation:
    """A recommendation for INC-1 under the example plan: the fields not given are defaults."""
    base: dict[str, Any] = {
        "incident_id": "INC-1",
        "plan_ref": PLAN,
        "rules_version": "2026.2",
        "retention_class": "standard",
        "retention_years": 10,
    }
    return Recommendation(**{**base, **fields})


def override(*refs: str) -> OverrideRequirement:
    """What setting aside the national rules ``refs`` must carry."""
    return OverrideRequirement(
        rule_refs=refs, role=Role.EXECUTIVE_LEAD, reason_required=True, reported_to_oversight=True
    )


MNSI = Referral(
    rule_ref="maternity_neonatal_mnsi@2",
    required=RequiredResponse.REFERRAL,
    bodies=("mnsi",),
    body_names=("Maternity and Newborn Safety Investigations (MNSI), hosted by the CQC",),
    local_response_may_be_required=False,
    expected_local_response=LocalResponse.NONE,
)
HOMICIDE = Referral(
    rule_ref="mental_health_related_homicide@2",
    required=RequiredResponse.REFERRAL,
    bodies=("nhse_riit",),
    body_names=("NHS England regional independent investigation team",),
    local_response_may_be_required=True,
    expected_local_response=LocalResponse.DECIDED_BY_BODY,
)
CUSTODY = Referral(
    rule_ref="death_in_custody@2",
    required=RequiredResponse.EXTERNAL_REVIEW,
    bodies=("ppo", "iopc"),
    body_names=("Prisons and Probation Ombudsman", "Independent Office for Police Conduct"),
    local_response_may_be_required=False,
    expected_local_response=LocalResponse.NONE,
)
#: The scheduled thematic review whose criteria discharge incidents meet (psirf-rules §2).
DISCHARGE_REVIEW = ("discharge-quarterly",)
SERIOUS: dict[str, Any] = {"retention_class": "serious", "retention_years": 20}
NEVER_EVENT: dict[str, Any] = {"never_event_type": "wrong_site_surgery"}
IN_CUSTODY: dict[str, Any] = {"died": True, "in_custody": True}
ABSCONDING: dict[str, Any] = {"categories": {"absconding"}}
#: What no priority, no national rule and no emergent risk give under the example plan.
PROPORTIONATE_RESULT: dict[str, Any] = {
    "pathway": Pathway.PROPORTIONATE,
    "allowed_responses": PROPORTIONATE,
    "decided_by": PSS,
    "no_further_response_allowed": True,
}

#: (incident facts, every field of the recommendation apart from the defaults above).
ROWS = [
    pytest.param(
        {"categories": {"falls"}, "setting": "inpatient_ward"},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#falls",),
            "allowed_responses": ("swarm_huddle", "after_action_review"),
            "improvement_plan": "falls-improvement-plan",
            "decided_by": PSS,
            "no_further_response_allowed": True,
        },
        id="priority-routes-to-an-improvement-plan",
    ),
    pytest.param(
        {"categories": {"discharge"}},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#discharge",),
            "default_response": "thematic_review",
            "default_variant": LifecycleVariant.THEMATIC_REVIEW,
            "allowed_responses": ("after_action_review", "thematic_review"),
            "thematic_review": "discharge-quarterly",
            "decided_by": PSS,
            "no_further_response_allowed": True,
            "thematic_reviews_matched": DISCHARGE_REVIEW,
        },
        id="priority-gathered-by-a-thematic-review",
    ),
    pytest.param(
        {"categories": {"discharge", "pressure_ulcer"}},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#pressure-ulcers", f"{PLAN}#discharge"),
            "allowed_responses": ("after_action_review", "thematic_review"),
            "improvement_plan": "pressure-ulcer-improvement-programme",
            "decided_by": PSS,
            "no_further_response_allowed": True,
            "thematic_reviews_matched": DISCHARGE_REVIEW,
        },
        id="first-priority-applies-and-allowed-lists-merge",
    ),
    pytest.param(
        {"categories": {"medication"}, "service_line": "community_nursing"},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#community-medication",),
            "default_response": "rapid_review",
            "default_variant": LifecycleVariant.AFTER_ACTION_REVIEW,
            "allowed_responses": ("rapid_review", "after_action_review"),
            "decided_by": PSS,
        },
        id="priority-scoped-to-a-service-line",
    ),
    pytest.param(
        {"categories": {"medication"}, "service_line": "community_mental_health"},
        PROPORTIONATE_RESULT,
        id="other-service-line-is-out-of-scope",
    ),
    pytest.param(
        {**ABSCONDING, "patient_groups": {"under_18"}},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#young-people-absconding",),
            "default_response": "swarm_huddle",
            "default_variant": LifecycleVariant.SWARM_HUDDLE,
            "allowed_responses": ("swarm_huddle", "after_action_review"),
            "decided_by": Role.SENIOR_LEADER,
        },
        id="patient-group-in-scope",
    ),
    pytest.param(
        {**ABSCONDING, "patient_groups": {"adult", "under_18"}},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#young-people-absconding",),
            "default_response": "swarm_huddle",
            "default_variant": LifecycleVariant.SWARM_HUDDLE,
            "allowed_responses": ("swarm_huddle", "after_action_review"),
            "decided_by": Role.SENIOR_LEADER,
        },
        id="one-of-several-patient-groups-in-scope",
    ),
    pytest.param(
        {**ABSCONDING, "patient_groups": {"adult"}},
        PROPORTIONATE_RESULT,
        id="other-patient-group-is-out-of-scope",
    ),
    pytest.param(
        ABSCONDING,
        PROPORTIONATE_RESULT,
        id="no-patient-group-is-out-of-scope",
    ),
    pytest.param(
        {"emergent_risk": True},
        {
            "pathway": Pathway.EMERGENT_RISK,
            "default_response": "psii",
            "default_variant": LifecycleVariant.PSII,
            "allowed_responses": ("psii", "round_table_review", "after_action_review"),
            "decided_by": Role.EXECUTIVE_LEAD,
            "executive_decision_required": True,
            "no_further_response_allowed": True,
            **SERIOUS,
        },
        id="emergent-risk",
    ),
    pytest.param(
        {"emergent_risk": True, "categories": {"falls"}, "setting": "inpatient_ward"},
        {
            "pathway": Pathway.LOCAL_PRIORITY,
            "priorities": (f"{PLAN}#falls",),
            "allowed_responses": ("swarm_huddle", "after_action_review"),
            "improvement_plan": "falls-improvement-plan",
            "decided_by": PSS,
            "executive_decision_required": True,
            "no_further_response_allowed": True,
        },
        id="emergent-risk-flag-is-seen-by-an-executive-even-with-a-priority",
    ),
    pytest.param(
        {**NEVER_EVENT, "emergent_risk": True, "categories": {"discharge"}},
        {
            "pathway": Pathway.NATIONAL_REQUIREMENT,
            "national_rules": ("never_event@2",),
            "priorities": (f"{PLAN}#discharge",),
            "default_response": "psii",
            "default_variant": LifecycleVariant.PSII,
            "allowed_responses": ("psii",),
            "decided_by": Role.EXECUTIVE_LEAD,
            "override": override("never_event@2"),
            "expected_local_response": LocalResponse.REQUIRED,
            "thematic_reviews_matched": DISCHARGE_REVIEW,
            **SERIOUS,
        },
        id="national-psii-overrides-priority-and-emergent-risk",
    ),
    pytest.param(
        {"mnsi_criteria_met": True},
        {
            "pathway": Pathway.NATIONAL_REQUIREMENT,
            "national_rules": ("maternity_neonatal_mnsi@2",),
            "allowed_responses": PROPORTIONATE,
            "referrals": (MNSI,),
            "decided_by": PSS,
            "override": override("maternity_neonatal_mnsi@2"),
            "expected_local_response": LocalResponse.NONE,
            **SERIOUS,
        },
        id="referral-never-allows-no-further-response",
    ),
    pytest.param(
        {"mnsi_criteria_met": True, "emergent_risk": True},
        {
            "pathway": Pathway.NATIONAL_REQUIREMENT,
            "national_rules": ("maternity_neonatal_mnsi@2",),
            "allowed_responses": ("psii", "round_table_review", "after_action_review"),
            "referrals": (MNSI,),
            "decided_by": Role.EXECUTIVE_LEAD,
            "executive_decision_required": True,
            "override": override("maternity_neonatal_mnsi@2"),
            "expected_local_response": LocalResponse.NONE,
            "local_default": "psii",
            **SERIOUS,
        },
        id="referral-with-emergent-risk-goes-to-an-executive",
    ),
    pytest.param(
        {"mental_health_related_homicide": True, **NEVER_EVENT},
        {
            "pathway": Pathway.NATIONAL_REQUIREMENT,
            "national_rules": ("never_event@2", "mental_health_related_homicide@2"),
            "default_response": "psii",
            "default_variant": LifecycleVariant.PSII,
            "allowed_responses": ("psii",),
            "referrals": (HOMICIDE,),
            "decided_by": Role.EXECUTIVE_LEAD,
            "override": override("never_event@2", "mental_health_related_homicide@2"),
            "expected_local_response": LocalResponse.REQUIRED,
            **SERIOUS,
        },
        id="psii-and-referral-together",
    ),
    pytest.param(
        IN_CUSTODY,
        {
            "pathway": Pathway.NATIONAL_REQUIREMENT,
            "national_rules": ("death_in_custody@2",),
            "allowed_responses": PROPORTIONATE,
            "referrals": (CUSTODY,),
            "decided_by": PSS,
            "override": override("death_in_custody@2"),
            "expected_local_response": LocalResponse.NONE,
            **SERIOUS,
        },
        id="external-review-names-every-body",
    ),
]


@pytest.mark.parametrize(("facts", "fields"), ROWS)
def test_recommendation_field_by_field(
    plan: Plan, rules: NationalRuleSet, facts: dict[str, Any], fields: dict[str, Any]
) -> None:
    """Triage returns exactly the expected recommendation, every field of it."""
    result = triage(IncidentFacts(incident_id="INC-1", **facts), plan, rules)

    assert result == recommendation(**fields)
    assert result.change_requires_reason is True
    assert result.rule_refs == result.national_rules + result.priorities


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"emergent_risk": True}, (Pathway.EMERGENT_RISK, Role.EXECUTIVE_LEAD, "psii")),
        ({}, (Pathway.PROPORTIONATE, PSS, None)),
    ],
)
def test_no_allowed_list_allows_every_response_type(
    open_plan: Plan,
    rules: NationalRuleSet,
    facts: dict[str, Any],
    expected: tuple[Pathway, Role, str | None],
) -> None:
    """Without an allowed list, emergent risk and proportionate responses allow every type."""
    result = triage(IncidentFacts(incident_id="INC-1", **facts), open_plan, rules)

    assert result.allowed_responses == EVERY_TYPE
    pathway, role, default = expected
    assert (result.pathway, result.decided_by, result.default_response) == (
        pathway,
        Decider(role=role),
        default,
    )


def test_unknown_body_is_named_by_its_id(plan: Plan, rules: NationalRuleSet) -> None:
    """A referral body missing from the rule set's list is named by its id, not dropped."""
    bodies = {k: v for k, v in rules.bodies.items() if k != "iopc"}
    fewer = attrs.evolve(rules, bodies=bodies)

    result = triage(IncidentFacts(incident_id="INC-1", **IN_CUSTODY), plan, fewer)

    assert result.referrals == (
        attrs.evolve(CUSTODY, body_names=("Prisons and Probation Ombudsman", "iopc")),
    )


# ----------------------------------------------------------------- intake payload

#: (incident facts, the payload recorded on the intake case).
PAYLOAD_ROWS = [
    pytest.param(
        {**NEVER_EVENT, "mnsi_criteria_met": True},
        {
            "national_rule_refs": ["never_event@2", "maternity_neonatal_mnsi@2"],
            "national_psii_rule_refs": ["never_event@2"],
            "plan_priority_ids": [],
            "plan_ref": PLAN,
            "executive_decision_required": False,
            "recommended_response": "psii",
        },
        id="only-the-psii-rule-is-a-psii-requirement",
    ),
    pytest.param(
        {"mnsi_criteria_met": True, "mental_health_related_homicide": True, **IN_CUSTODY},
        {
            "national_rule_refs": [
                "maternity_neonatal_mnsi@2",
                "mental_health_related_homicide@2",
                "death_in_custody@2",
            ],
            "national_psii_rule_refs": [],
            "plan_priority_ids": [],
            "plan_ref": PLAN,
            "executive_decision_required": False,
        },
        id="referrals-and-reviews-are-never-psii-requirements",
    ),
    pytest.param(
        {"categories": {"discharge"}, "emergent_risk": True},
        {
            "national_rule_refs": [],
            "national_psii_rule_refs": [],
            "plan_priority_ids": [f"{PLAN}#discharge"],
            "plan_ref": PLAN,
            "executive_decision_required": True,
            "recommended_response": "thematic_review",
            "thematic_reviews_met": ["discharge-quarterly"],
        },
        id="priority-with-a-default",
    ),
    pytest.param(
        {"categories": {"falls"}, "setting": "inpatient_ward"},
        {
            "national_rule_refs": [],
            "national_psii_rule_refs": [],
            "plan_priority_ids": [f"{PLAN}#falls"],
            "plan_ref": PLAN,
            "executive_decision_required": False,
        },
        id="no-default-no-recommended-response",
    ),
]


@pytest.mark.parametrize(("facts", "payload"), PAYLOAD_ROWS)
def test_intake_payload(
    plan: Plan, rules: NationalRuleSet, facts: dict[str, Any], payload: dict[str, object]
) -> None:
    """The intake payload records the rules, the PSII rules alone, priorities and the plan."""
    result = triage(IncidentFacts(incident_id="INC-1", **facts), plan, rules)

    assert intake_payload(result, rules) == payload


def test_rule_unknown_to_the_rule_set_is_not_a_psii_requirement(
    plan: Plan, rules: NationalRuleSet
) -> None:
    """A recorded rule the given rule set does not hold is never recorded as a PSII rule."""
    result = triage(IncidentFacts(incident_id="INC-1", **NEVER_EVENT), plan, rules)
    without = attrs.evolve(rules, rules=tuple(r for r in rules.rules if r.id != "never_event"))

    payload = intake_payload(result, without)

    assert payload["national_rule_refs"] == ["never_event@2"]
    assert payload["national_psii_rule_refs"] == []
