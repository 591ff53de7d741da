"""Triage precedence between national requirements and local priorities (psirf-rules §3).

A national requirement calling for a referral only (or another body's review) never makes a
local PSII the default: triage returns the referrals and says what local response the rules
expect. A local priority may add a response alongside (its allowed responses, and its
default as ``local_default``), but never replaces a national PSII. The national data follow
the verification pass recorded in psirf-rules §3 ([V 2026-12]): LeDeR reviews adults; a
child's death with a learning disability goes to child death review with LeDeR notified.
"""

from __future__ import annotations

from typing import Any

import pytest

from psirf_flow.policy import (
    IncidentFacts,
    LocalResponse,
    NationalRuleSet,
    Pathway,
    Plan,
    load_plan,
    triage,
)


PLAN = """\
schema = 1

[plan]
id = "rx2-psirp"
version = "1"
organisation = "RX2"
effective_from = 2026-04-01
review_date = 2027-01-31

[response_types.psii]
maps_to = "psii"
decided_by = "executive_lead"
sign_off = [{ role = "executive_lead" }]

[response_types.aar]
maps_to = "after_action_review"
sign_off = [{ role = "senior_leader" }]

[response_types.huddle]
maps_to = "swarm_huddle"
sign_off = [{ role = "senior_leader" }]

[triage.proportionate]
allowed = ["aar", "huddle"]

[[priorities]]
id = "maternity"
criteria = { fact = "categories", includes = "maternity" }
responses = { allowed = ["psii", "aar"], default = "psii" }

[[priorities]]
id = "falls"
criteria = { fact = "categories", includes = "falls" }
responses = { allowed = ["aar"], default = "aar" }
decided_by = "senior_leader"
"""


@pytest.fixture(name="plan", scope="module")
def _plan() -> Plan:
    return load_plan(PLAN)


MATERNITY = {"categories": {"maternity"}}
FALLS = {"categories": {"falls"}}
DIED = {"died": True}

# (facts, national rules, bodies, default, local default, allowed, expected local response)
ROWS = [
    pytest.param(
        {"mnsi_criteria_met": True, **MATERNITY},
        ("maternity_neonatal_mnsi@2",),
        (("mnsi",),),
        None,
        "psii",
        ("psii", "aar"),
        LocalResponse.NONE,
        id="mnsi-with-a-local-priority",
    ),
    pytest.param(
        {"mental_health_related_homicide": True, **FALLS},
        ("mental_health_related_homicide@2",),
        (("nhse_riit",),),
        None,
        None,
        ("aar", "psii"),
        LocalResponse.DECIDED_BY_BODY,
        id="mental-health-homicide-decided-by-the-regional-team",
    ),
    pytest.param(
        {**DIED, "child": True, "learning_disability_or_autistic": True},
        ("child_death@2", "learning_disability_child_death@1"),
        (("cdop",), ("leder",)),
        None,
        None,
        ("aar", "huddle", "psii"),
        LocalResponse.MAY_BE_REQUIRED,
        id="child-death-with-a-learning-disability",
    ),
    pytest.param(
        {**DIED, "learning_disability_or_autistic": True},
        ("learning_disability_or_autism_death@2",),
        (("leder",),),
        None,
        None,
        ("aar", "huddle", "psii"),
        LocalResponse.MAY_BE_REQUIRED,
        id="adult-death-with-a-learning-disability",
    ),
    pytest.param(
        {"never_event_type": "wrong_site_surgery", **FALLS},
        ("never_event@2",),
        (),
        "psii",
        None,
        ("psii",),
        LocalResponse.REQUIRED,
        id="never-event-with-a-local-priority",
    ),
    pytest.param(
        {"screening_incident": True, **FALLS},
        ("screening_incident@2",),
        (("sqas",),),
        None,
        "aar",
        ("aar", "psii"),
        LocalResponse.MAY_BE_REQUIRED,
        id="screening-with-a-local-priority",
    ),
    pytest.param(
        {**DIED, "in_custody": True, **FALLS},
        ("death_in_custody@2",),
        (("ppo", "iopc"),),
        None,
        "aar",
        ("aar",),
        LocalResponse.NONE,
        id="death-in-custody-with-a-local-priority",
    ),
]


@pytest.mark.parametrize(
    ("facts", "national", "bodies", "default", "local_default", "allowed", "expected"), ROWS
)
def test_precedence(  # noqa: PLR0917 - table columns
    plan: Plan,
    rules: NationalRuleSet,
    facts: dict[str, Any],
    national: tuple[str, ...],
    bodies: tuple[tuple[str, ...], ...],
    default: str | None,
    local_default: str | None,
    allowed: tuple[str, ...],
    expected: LocalResponse,
) -> None:
    """Each row: the referrals, the default, what a priority adds and what the rules expect."""
    advice = triage(IncidentFacts(incident_id="INC-1", **facts), plan, rules)

    assert advice.pathway is Pathway.NATIONAL_REQUIREMENT
    assert advice.national_rules == national
    assert tuple(r.bodies for r in advice.referrals) == bodies
    assert advice.default_response == default
    assert advice.local_default == local_default
    assert advice.allowed_responses == allowed
    assert advice.expected_local_response is expected
    assert advice.no_further_response_allowed is False
    assert advice.retention_class == "serious"


def test_child_death_referrals_say_what_each_body_expects(
    plan: Plan, rules: NationalRuleSet
) -> None:
    """CDOP reviews (a local response may be required); LeDeR is notified only."""
    advice = triage(
        IncidentFacts(
            incident_id="INC-1", died=True, child=True, learning_disability_or_autistic=True
        ),
        plan,
        rules,
    )
    cdop, leder = advice.referrals
    assert (cdop.expected_local_response, cdop.local_response_may_be_required) == (
        LocalResponse.MAY_BE_REQUIRED,
        True,
    )
    assert (leder.expected_local_response, leder.local_response_may_be_required) == (
        LocalResponse.NONE,
        False,
    )
    assert leder.body_names[0].startswith("LeDeR")


@pytest.mark.parametrize(
    ("rule_id", "verification", "mentions"),
    [
        ("never_event", "confirmed", "[V 2026-12]"),
        ("maternity_neonatal_mnsi", "confirmed", "HIMS"),
        ("mental_health_related_homicide", "confirmed", "regional independent investigation"),
        ("child_death", "confirmed", "[V 2026-12]"),
        ("learning_disability_or_autism_death", "secondary", "adults (18 and over)"),
        ("learning_disability_child_death", "secondary", "child death review"),
        ("safeguarding", "secondary", "Care Act 2014 s42"),
        ("screening_incident", "secondary", "27 March 2024"),
        ("death_in_custody", "secondary", "PPO"),
        ("domestic_homicide", "secondary", "domestic abuse related death reviews"),
    ],
)
def test_rules_carry_the_verification_pass(
    rules: NationalRuleSet, rule_id: str, verification: str, mentions: str
) -> None:
    """Each changed rule's mark and note follow psirf-rules §3 after the [V 2026-12] pass."""
    rule = rules.rule(rule_id)
    assert rule.verification.value == verification
    assert mentions in rule.note


def test_domestic_homicide_review_name_is_versioned_data(rules: NationalRuleSet) -> None:
    """The review keeps its current name until the rename is in force; the body is data."""
    body = rules.bodies["csp"]
    assert body.name == "Community safety partnership (domestic homicide review)"
    assert rules.rule("domestic_homicide").ref == "domestic_homicide@2"
