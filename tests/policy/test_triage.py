"""Triage against the national rules and the plan: every rule, every harm level, the order."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.domain import Role
from psirf_flow.errors import PlanError
from psirf_flow.policy import (
    FACTS,
    Decider,
    FactKind,
    IncidentFacts,
    LifecycleVariant,
    LocalResponse,
    NationalRuleSet,
    Pathway,
    PhysicalHarm,
    Plan,
    PsychologicalHarm,
    RequiredResponse,
    Verification,
    load_national_rules,
    matching_priorities,
    triage,
)
from psirf_flow.policy.national import rule_set_problems
from psirf_flow.policy.triage import decision_frame
from psirf_flow.workflows import LEARNING_RESPONSES


# (rule id, facts that meet it, required response, bodies)
NATIONAL_CASES: list[tuple[str, dict[str, Any], RequiredResponse, tuple[str, ...]]] = [
    (
        "never_event",
        {"never_event_type": "wrong_site_surgery"},
        RequiredResponse.LOCALLY_LED_PSII,
        (),
    ),
    (
        "death_due_to_problems_in_care",
        {"died": True, "death_more_likely_than_not_due_to_problems_in_care": True},
        RequiredResponse.LOCALLY_LED_PSII,
        (),
    ),
    ("maternity_neonatal_mnsi", {"mnsi_criteria_met": True}, RequiredResponse.REFERRAL, ("mnsi",)),
    (
        "mha_mca_death_linked_to_care",
        {
            "died": True,
            "detained_under_mha": True,
            "death_possibly_linked_to_problems_in_care": True,
        },
        RequiredResponse.LOCALLY_LED_PSII,
        (),
    ),
    (
        "mental_health_related_homicide",
        {"mental_health_related_homicide": True},
        RequiredResponse.REFERRAL,
        ("nhse_riit",),
    ),
    ("child_death", {"died": True, "child": True}, RequiredResponse.REFERRAL, ("cdop",)),
    (
        "learning_disability_or_autism_death",
        {"died": True, "learning_disability_or_autistic": True},
        RequiredResponse.REFERRAL,
        ("leder",),
    ),
    (
        "safeguarding",
        {"safeguarding_concern": True},
        RequiredResponse.REFERRAL,
        ("local_authority_safeguarding",),
    ),
    ("screening_incident", {"screening_incident": True}, RequiredResponse.REFERRAL, ("sqas",)),
    (
        "death_in_custody",
        {"died": True, "in_custody": True},
        RequiredResponse.EXTERNAL_REVIEW,
        ("ppo", "iopc"),
    ),
    ("domestic_homicide", {"domestic_homicide": True}, RequiredResponse.EXTERNAL_REVIEW, ("csp",)),
]


class TestNationalRules:
    """Every national requirement is matched by its facts and gives its response."""

    def test_shipped_rule_set_covers_rows_1_to_11(self, rules: NationalRuleSet) -> None:
        """One rule per row of psirf-rules §3, plus LeDeR's notification of a child's death."""
        ids = [case[0] for case in NATIONAL_CASES]
        ids.insert(ids.index("safeguarding"), "learning_disability_child_death")
        assert [r.id for r in rules.rules] == ids
        assert all(r.ref == f"{r.id}@{r.version}" for r in rules.rules)
        assert rule_set_problems(rules) == []
        assert rules.version == "2026.2"

    def test_rows_7_to_11_are_marked_secondary(self, rules: NationalRuleSet) -> None:
        """After the [V 2026-12] pass rows 7-11 are ◐ (bodies confirmed); rows 1-6 stay ✔."""
        marks = [r.verification.mark for r in rules.rules]
        assert marks == ["✔"] * 6 + ["◐"] * 6
        assert rules.rule("never_event").note.startswith(
            "The Never Events framework is under review"
        )

    @pytest.mark.parametrize(
        ("rule_id", "facts", "required", "bodies"),
        NATIONAL_CASES,
        ids=[case[0] for case in NATIONAL_CASES],
    )
    def test_rule_matches_and_recommends(  # noqa: PLR0917 - parametrised table columns
        self,
        example_plan: Plan,
        rules: NationalRuleSet,
        rule_id: str,
        facts: dict[str, Any],
        required: RequiredResponse,
        bodies: tuple[str, ...],
    ) -> None:
        """The rule's facts match exactly that rule and triage gives its response or referral."""
        advice = triage(IncidentFacts(incident_id="INC-1", **facts), example_plan, rules)
        ref = rules.rule(rule_id).ref
        assert advice.national_rules == (ref,)
        assert advice.pathway is Pathway.NATIONAL_REQUIREMENT
        assert advice.no_further_response_allowed is False
        assert advice.override is not None
        assert advice.override.rule_refs == (ref,)
        assert advice.override.role is Role.EXECUTIVE_LEAD
        assert advice.retention_years == 20
        if required is RequiredResponse.LOCALLY_LED_PSII:
            assert advice.default_response == "psii"
            assert advice.default_variant is LifecycleVariant.PSII
            assert advice.referrals == ()
        else:
            (referral,) = advice.referrals
            assert referral.rule_ref == ref
            assert referral.required is required
            assert referral.bodies == bodies
            assert all(name for name in referral.body_names)

    def test_body_names_are_data(self, rules: NationalRuleSet, example_plan: Plan) -> None:
        """Renaming a body in the data renames it in the referral; nothing in code changes."""
        renamed = attrs.evolve(
            rules,
            bodies={**rules.bodies, "mnsi": attrs.evolve(rules.bodies["mnsi"], name="New body")},
        )
        advice = triage(
            IncidentFacts(incident_id="I", mnsi_criteria_met=True), example_plan, renamed
        )
        assert advice.referrals[0].body_names == ("New body",)

    def test_a_rule_can_be_replaced(self, rules: NationalRuleSet, example_plan: Plan) -> None:
        """A new version of the Never Events rule replaces the old one and is recorded."""
        old = rules.rule("never_event")
        new = attrs.evolve(old, version="3")
        replaced = rules.with_rule(new, version="2026.3")
        assert replaced.rule("never_event").ref == "never_event@3"
        assert [r.id for r in replaced.rules] == [r.id for r in rules.rules]
        advice = triage(
            IncidentFacts(incident_id="I", never_event_type="scalding_of_patients"),
            example_plan,
            replaced,
        )
        assert advice.national_rules == ("never_event@3",)
        assert advice.rules_version == "2026.3"
        with pytest.raises(KeyError):
            rules.rule("no_such_rule")

    def test_a_bad_replacement_is_refused(self, rules: NationalRuleSet) -> None:
        """A replacement naming an unknown body is refused."""
        bad = attrs.evolve(rules.rule("child_death"), refer_to=("nobody",))
        with pytest.raises(ValueError, match="no body 'nobody'"):
            rules.with_rule(bad, version="x")

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ('version = "a b"\nbodies = {}\nrules = []\n', "version"),
            ('format = 2\nversion = "1"\nbodies = {}\nrules = []\n', "format"),
            (
                'version = "1"\nbodies = {}\n[[rules]]\nid = "x"\nversion = "1"\ntitle = "t"\n'
                'section = "s"\nsources = []\nverification = "confirmed"\nresponse = "referral"\n'
                'criteria = { fact = "died", is = true }\n',
                "rules[0].refer_to",
            ),
            (
                'version = "1"\nbodies = {}\n[[rules]]\nid = "x"\nversion = "1"\ntitle = "t"\n'
                'section = "s"\nsources = []\nverification = "confirmed"\n'
                'response = "locally_led_psii"\n'
                'refer_to = ["cdop"]\ncriteria = { fact = "died", is = true }\n',
                "rules[0].refer_to",
            ),
            (
                'version = "1"\nbodies = {}\n[[rules]]\nid = "x y"\nversion = "1"\ntitle = "t"\n'
                'section = "s"\nsources = []\nverification = "confirmed"\nresponse = "referral"\n'
                'refer_to = ["cdop"]\ncriteria = { fact = "died", is = true }\n'
                '[[rules]]\nid = "x y"\nversion = 1\n',
                "rules[0].refer_to[0]",
            ),
        ],
        ids=["version", "format", "referral-without-body", "psii-with-body", "salvaged"],
    )
    def test_rule_set_mistakes_are_reported(self, text: str, path: str) -> None:
        """A faulty rule set is refused with the path of each mistake."""
        with pytest.raises(PlanError) as caught:
            load_national_rules(text)
        assert path in {p.path for p in caught.value.problems}

    def test_verification_marks(self) -> None:
        """Each verification level has the mark psirf-rules uses."""
        assert [v.mark for v in Verification] == ["✔", "◐", "✖"]


HARM_CASES = [
    (p, s) for p in PhysicalHarm for s in PsychologicalHarm if p is not PhysicalHarm.FATAL
]


class TestHarmNeverForcesPsii:
    """Harm level alone never selects a PSII (psirf-rules §1 design consequence)."""

    @pytest.mark.parametrize(
        ("physical", "psychological"),
        HARM_CASES,
        ids=[f"{p.label}-{s.label}" for p, s in HARM_CASES],
    )
    def test_harm_alone_gives_a_proportionate_response(
        self,
        example_plan: Plan,
        rules: NationalRuleSet,
        physical: PhysicalHarm,
        psychological: PsychologicalHarm,
    ) -> None:
        """Any harm combination without other facts leads to a proportionate response."""
        facts = IncidentFacts(
            incident_id="I", physical_harm=physical, psychological_harm=psychological
        )
        advice = triage(facts, example_plan, rules)
        assert advice.pathway is Pathway.PROPORTIONATE
        assert advice.default_response is None
        assert "psii" not in advice.allowed_responses
        assert advice.no_further_response_allowed is True
        assert advice.retention_class == "standard"

    def test_fatal_harm_alone_does_not_force_a_psii(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """A death without a national criterion met still leaves the choice proportionate."""
        facts = IncidentFacts(incident_id="I", physical_harm=PhysicalHarm.FATAL, died=True)
        advice = triage(facts, example_plan, rules)
        assert advice.pathway is Pathway.PROPORTIONATE
        assert advice.default_response is None


class TestOrder:
    """National requirement, then plan priority, then emergent risk, then proportionate."""

    def test_priority_gives_the_planned_default(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """A matching priority recommends its default, confirmable by its named role."""
        facts = IncidentFacts(
            incident_id="I",
            service_line="community_mental_health",
            categories={"suspected_suicide"},
        )
        advice = triage(facts, example_plan, rules)
        assert advice.pathway is Pathway.LOCAL_PRIORITY
        assert advice.priorities == ("rx9-psirp@2.0#cmht-suicide-self-harm",)
        assert advice.rule_refs == advice.priorities
        assert advice.recommended_responses == ("psii",)
        assert advice.allowed_responses == ("psii", "round_table_review")
        assert advice.decided_by == Decider(role=Role.EXECUTIVE_LEAD)
        assert advice.change_requires_reason is True
        assert advice.no_further_response_allowed is False
        assert advice.retention_class == "serious"

    def test_scope_limits_a_priority(self, example_plan: Plan, rules: NationalRuleSet) -> None:
        """The same category outside the priority's service line does not match it."""
        facts = IncidentFacts(
            incident_id="I", service_line="community_nursing", categories={"suspected_suicide"}
        )
        assert triage(facts, example_plan, rules).pathway is Pathway.PROPORTIONATE
        facts = IncidentFacts(incident_id="I", setting="community", categories={"falls"})
        assert triage(facts, example_plan, rules).pathway is Pathway.PROPORTIONATE
        facts = IncidentFacts(incident_id="I", categories={"medication"})
        assert triage(facts, example_plan, rules).pathway is Pathway.PROPORTIONATE

    def test_improvement_plan_routing(self, example_plan: Plan, rules: NationalRuleSet) -> None:
        """Pressure ulcers are routed to the improvement plan instead of a learning response."""
        advice = triage(
            IncidentFacts(incident_id="I", categories={"pressure_ulcer"}), example_plan, rules
        )
        assert advice.improvement_plan == "pressure-ulcer-improvement-programme"
        assert advice.default_response is None
        assert advice.allowed_responses == ("after_action_review",)

    def test_thematic_review_gathering(self, example_plan: Plan, rules: NationalRuleSet) -> None:
        """Discharge incidents go to the quarterly thematic review."""
        advice = triage(
            IncidentFacts(incident_id="I", categories={"discharge"}), example_plan, rules
        )
        assert advice.thematic_review == "discharge-quarterly"
        assert advice.default_variant is LifecycleVariant.THEMATIC_REVIEW

    def test_first_matching_priority_wins_and_all_are_recorded(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """With two matching priorities the first applies and both are referenced."""
        facts = IncidentFacts(
            incident_id="I", setting="inpatient_ward", categories={"restraint", "falls"}
        )
        advice = triage(facts, example_plan, rules)
        assert advice.priorities == (
            "rx9-psirp@2.0#inpatient-restrictive-practice",
            "rx9-psirp@2.0#falls",
        )
        assert advice.default_response == "round_table_review"
        assert advice.improvement_plan is None

    def test_emergent_risk_needs_an_executive(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """An emergent risk outside the plan is decided by the executive lead."""
        advice = triage(IncidentFacts(incident_id="I", emergent_risk=True), example_plan, rules)
        assert advice.pathway is Pathway.EMERGENT_RISK
        assert advice.executive_decision_required is True
        assert advice.decided_by == Decider(role=Role.EXECUTIVE_LEAD)
        assert advice.default_response == "psii"

    def test_emergent_risk_flag_on_a_priority_still_needs_an_executive(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """A flagged risk on a priority keeps the plan's default but asks an executive."""
        facts = IncidentFacts(incident_id="I", categories={"discharge"}, emergent_risk=True)
        advice = triage(facts, example_plan, rules)
        assert advice.pathway is Pathway.LOCAL_PRIORITY
        assert advice.executive_decision_required is True

    def test_national_psii_outranks_a_priority(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """A Never Event on a priority's ground is a national PSII without an executive.

        The priority is recorded as matched, but it neither changes the default nor adds
        a response (psirf-rules §3: a local priority never downgrades a national PSII).
        """
        facts = IncidentFacts(
            incident_id="I",
            categories={"falls"},
            setting="inpatient_ward",
            never_event_type="falls_from_poorly_restricted_windows",
            emergent_risk=True,
        )
        advice = triage(facts, example_plan, rules)
        assert advice.default_response == "psii"
        assert advice.allowed_responses == ("psii",)
        assert advice.priorities == ("rx9-psirp@2.0#falls",)
        assert advice.improvement_plan is None
        assert advice.executive_decision_required is False

    def test_referral_with_a_local_priority(
        self, example_plan: Plan, rules: NationalRuleSet
    ) -> None:
        """A referral that may need a local response lists the priority's response alongside.

        The referral sets no default (psirf-rules §3); the priority's planned response is
        the local default to commission alongside it, and a PSII is allowed too.
        """
        facts = IncidentFacts(
            incident_id="I",
            safeguarding_concern=True,
            setting="inpatient_ward",
            categories={"seclusion"},
        )
        advice = triage(facts, example_plan, rules)
        assert advice.pathway is Pathway.NATIONAL_REQUIREMENT
        assert advice.default_response is None
        assert advice.local_default == "round_table_review"
        assert "psii" in advice.allowed_responses
        assert advice.rule_refs == (
            "safeguarding@2",
            "rx9-psirp@2.0#inpatient-restrictive-practice",
        )
        assert advice.no_further_response_allowed is False


FLAG_FACTS = sorted(name for name, kind in FACTS.items() if kind is FactKind.FLAG)


@st.composite
def incident_facts(draw: st.DrawFn) -> IncidentFacts:
    """Random, internally consistent incident facts."""
    flags = {name: draw(st.booleans()) for name in FLAG_FACTS}
    if not flags["died"]:
        flags["death_more_likely_than_not_due_to_problems_in_care"] = False
        flags["death_possibly_linked_to_problems_in_care"] = False
    physical = draw(st.sampled_from(list(PhysicalHarm)))
    if physical is PhysicalHarm.FATAL and not flags["died"]:
        physical = PhysicalHarm.SEVERE
    codes = st.sampled_from(
        ["falls", "discharge", "medication", "pressure_ulcer", "restraint", "x"]
    )
    return IncidentFacts(
        incident_id="INC-9",
        physical_harm=physical,
        psychological_harm=draw(st.sampled_from(list(PsychologicalHarm))),
        never_event_type=draw(
            st.none() | st.sampled_from(["wrong_site_surgery", "not_a_never_event"])
        ),
        service_line=draw(
            st.none() | st.sampled_from(["community_mental_health", "community_nursing"])
        ),
        setting=draw(st.none() | st.sampled_from(["inpatient_ward", "community"])),
        categories=frozenset(draw(st.lists(codes, max_size=3))),
        **flags,
    )


class TestProperties:
    """Invariants of triage over random facts."""

    @given(facts=incident_facts())
    def test_national_requirement_never_allows_no_further_response(
        self, example_plan: Plan, rules: NationalRuleSet, facts: IncidentFacts
    ) -> None:
        """Facts meeting a national requirement never allow "no further response"."""
        advice = triage(facts, example_plan, rules)
        if rules.matching(facts):
            assert advice.no_further_response_allowed is False
            assert advice.pathway is Pathway.NATIONAL_REQUIREMENT
            assert advice.override is not None
        else:
            assert advice.override is None
            assert advice.referrals == ()

    @given(facts=incident_facts())
    def test_referrals_never_set_a_local_default(
        self, example_plan: Plan, rules: NationalRuleSet, facts: IncidentFacts
    ) -> None:
        """Psirf-rules §3: only a national PSII sets a default; a priority never downgrades it."""
        advice = triage(facts, example_plan, rules)
        national = rules.matching(facts)
        psii = [r for r in national if r.response is RequiredResponse.LOCALLY_LED_PSII]
        if psii:
            assert advice.default_response == example_plan.triage.national_psii_response
            assert advice.allowed_responses == (advice.default_response,)
            assert advice.local_default is None
            assert advice.expected_local_response is LocalResponse.REQUIRED
        elif national:
            assert advice.default_response is None
            assert advice.expected_local_response in {r.expected_local_response for r in national}
            if advice.local_default is not None:
                assert advice.local_default in advice.allowed_responses
        else:
            assert advice.expected_local_response is None
            assert advice.local_default is None

    @given(facts=incident_facts())
    def test_decision_frame_agrees_with_triage(
        self, example_plan: Plan, rules: NationalRuleSet, facts: IncidentFacts
    ) -> None:
        """The choices the intake's guards rebuild from recorded triage are triage's own."""
        advice = triage(facts, example_plan, rules)
        national = rules.matching(facts)
        referral = [r for r in national if r.response is not RequiredResponse.LOCALLY_LED_PSII]
        expects = [r.expected_local_response for r in referral]
        frame = decision_frame(
            example_plan,
            matching_priorities(facts, example_plan),
            psii_required=len(referral) < len(national),
            referral_expects=max(expects, key=lambda e: e.strength) if expects else None,
            emergent_risk=facts.emergent_risk,
        )
        assert frame.allowed == advice.allowed_responses
        assert frame.decided_by == advice.decided_by
        assert frame.no_further_response_allowed == advice.no_further_response_allowed
        assert (frame.national_response is not None) == (
            advice.expected_local_response is LocalResponse.REQUIRED
        )

    @given(facts=incident_facts())
    def test_triage_is_pure(
        self, example_plan: Plan, rules: NationalRuleSet, facts: IncidentFacts
    ) -> None:
        """The same inputs always give the same recommendation, with known response types."""
        first = triage(facts, example_plan, rules)
        assert triage(facts, example_plan, rules) == first
        named = [*first.allowed_responses, *first.recommended_responses]
        assert all(name in example_plan.response_types for name in named)


class TestVocabulary:
    """The policy package's lifecycle names are the built-in workflows' names."""

    def test_lifecycle_variants_match_learning_responses(self) -> None:
        """Every LifecycleVariant is a built-in learning response and vice versa."""
        assert {v.value for v in LifecycleVariant} == set(LEARNING_RESPONSES)

    def test_fact_catalogue_matches_incident_facts(self) -> None:
        """Every fact a condition may test is a field of IncidentFacts."""
        fields = {a.name for a in attrs.fields(IncidentFacts)}
        assert set(FACTS) <= fields
        assert fields - set(FACTS) == {"incident_id", "extra"}
