"""Conditions over incident facts, the facts themselves, and whole-plan checks built in code."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import attrs
import pytest

from psirf_flow.errors import PlanError
from psirf_flow.policy import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    FactTest,
    IncidentFacts,
    LifecycleVariant,
    Not,
    PhysicalHarm,
    Plan,
    PlanStatus,
    PsychologicalHarm,
    RetentionSettings,
    condition_problems,
    evaluate,
    load_plan,
    plan_problems,
)
from psirf_flow.policy._problems import LineLocator, describe, format_path, problems_from


FACTS = IncidentFacts(
    incident_id="INC-1",
    physical_harm=PhysicalHarm.MODERATE,
    psychological_harm=PsychologicalHarm.LOW,
    service_line="cmht",
    categories={"falls", "night"},
    patient_groups={"detained_mha"},
    died=False,
)

EVALUATIONS: list[tuple[str, Condition, bool]] = [
    ("flag-is", FactTest("died", Comparison.IS, False), True),
    ("flag-is-not", FactTest("died", Comparison.IS, True), False),
    ("code-is", FactTest("service_line", Comparison.IS, "cmht"), True),
    ("code-in", FactTest("service_line", Comparison.IN, ("a", "cmht")), True),
    ("code-present", FactTest("service_line", Comparison.PRESENT, True), True),
    ("code-absent", FactTest("setting", Comparison.PRESENT, False), True),
    ("codes-includes", FactTest("categories", Comparison.INCLUDES, "falls"), True),
    ("codes-in-any", FactTest("patient_groups", Comparison.IN, ("x", "detained_mha")), True),
    ("codes-in-none", FactTest("categories", Comparison.IN, ("x",)), False),
    ("harm-at-least-lower", FactTest("physical_harm", Comparison.AT_LEAST, "low"), True),
    ("harm-at-least-same", FactTest("physical_harm", Comparison.AT_LEAST, "moderate"), True),
    ("harm-at-least-higher", FactTest("physical_harm", Comparison.AT_LEAST, "severe"), False),
    ("harm-is", FactTest("psychological_harm", Comparison.IS, "low"), True),
    ("harm-in", FactTest("psychological_harm", Comparison.IN, ("none", "severe")), False),
    ("not", Not(FactTest("died", Comparison.IS, True)), True),
    (
        "all",
        AllOf((FactTest("died", Comparison.IS, False), FactTest("child", Comparison.IS, True))),
        False,
    ),
    (
        "any",
        AnyOf((FactTest("died", Comparison.IS, True), FactTest("child", Comparison.IS, False))),
        True,
    ),
]


class TestEvaluate:
    """Each comparison evaluates as documented."""

    @pytest.mark.parametrize(
        ("condition", "expected"),
        [e[1:] for e in EVALUATIONS],
        ids=[e[0] for e in EVALUATIONS],
    )
    def test_evaluate(self, condition: Condition, *, expected: bool) -> None:
        """The condition holds (or not) for the sample facts."""
        assert condition_problems(condition) == []
        assert evaluate(condition, FACTS) is expected

    def test_value_of_unknown_fact_is_refused(self) -> None:
        """Asking for a fact outside the catalogue raises KeyError."""
        with pytest.raises(KeyError):
            FACTS.value_of("incident_id")


PROBLEMS: list[tuple[str, Condition, str]] = [
    ("empty-all", AllOf(()), "all"),
    ("test-not-for-kind", FactTest("died", Comparison.AT_LEAST, "low"), "at_least"),
    ("in-needs-list", FactTest("service_line", Comparison.IN, ()), "in"),
    ("flag-needs-bool", FactTest("died", Comparison.IS, "yes"), "is"),
    ("present-needs-bool", FactTest("setting", Comparison.PRESENT, "yes"), "present"),
    ("bad-harm", FactTest("physical_harm", Comparison.IS, "awful"), "is"),
    ("bad-code", FactTest("categories", Comparison.INCLUDES, "two words"), "includes"),
    ("nested", Not(AnyOf((FactTest("nope", Comparison.IS, True),))), "not.any[0].fact"),
]


class TestConditionProblems:
    """Every mistake in a condition is found with its relative path."""

    @pytest.mark.parametrize(
        ("condition", "path"), [p[1:] for p in PROBLEMS], ids=[p[0] for p in PROBLEMS]
    )
    def test_problem_is_found(self, condition: Condition, path: str) -> None:
        """The condition's mistake is reported at its path."""
        assert [format_path(p) for p, _ in condition_problems(condition)] == [path]

    @pytest.mark.parametrize(
        ("criteria", "path"),
        [
            ("criteria = 3", "priorities[0].criteria"),
            ("criteria = {}", "priorities[0].criteria"),
            ("criteria = { all = [], any = [] }", "priorities[0].criteria"),
            ('criteria = { all = "x" }', "priorities[0].criteria.all"),
            (
                'criteria = { all = [{ fact = "died", is = true }], x = 1 }',
                "priorities[0].criteria.x",
            ),
            ("criteria = { not = { fact = 3, is = true } }", "priorities[0].criteria.not.fact"),
            ('criteria = { fact = "died", is = true, so = 1 }', "priorities[0].criteria.so"),
            ('criteria = { fact = "died" }', "priorities[0].criteria"),
            ('criteria = { fact = "died", is = 1.5 }', "priorities[0].criteria.is"),
            (
                'criteria = { any = [{ fact = "died", is = true }, 2] }',
                "priorities[0].criteria.any[1]",
            ),
        ],
        ids=[
            "not-a-table",
            "empty",
            "two-forms",
            "all-not-list",
            "extra-beside-all",
            "fact-not-text",
            "unknown-test",
            "no-test",
            "bad-value",
            "bad-item",
        ],
    )
    def test_condition_written_wrongly_in_a_plan(self, criteria: str, path: str) -> None:
        """Mistakes in how a condition is written are reported at their TOML path."""
        text = f"""
[plan]
id = "p"
version = "1"
organisation = "RX9"
effective_from = 2026-01-01
review_date = 2026-06-01
[response_types.psii]
maps_to = "psii"
sign_off = [{{ role = "executive_lead" }}]
[[priorities]]
id = "a"
{criteria}
responses = {{ allowed = ["psii"], default = "psii" }}
"""
        with pytest.raises(PlanError) as caught:
            load_plan(text)
        assert path in {p.path for p in caught.value.problems}


class TestIncidentFacts:
    """Incident facts hold opaque codes and consistent flags only."""

    @pytest.mark.parametrize(
        "changes",
        [
            {"incident_id": "Jane Smith"},
            {"incident_id": "943 476 5919"},
            {"categories": {"two words"}},
            {"service_line": "free text here"},
            {"death_more_likely_than_not_due_to_problems_in_care": True},
            {"physical_harm": PhysicalHarm.FATAL},
            {"occurred_on": date(2026, 2, 2), "identified_on": date(2026, 2, 1)},
        ],
        ids=[
            "name",
            "nhs-number",
            "free-text-category",
            "free-text-code",
            "death-detail",
            "fatal",
            "dates",
        ],
    )
    def test_inconsistent_or_identifying_facts_are_refused(self, changes: dict[str, Any]) -> None:
        """Names, NHS numbers, free text and inconsistent flags are refused."""
        with pytest.raises(ValueError, match=r"\S"):
            IncidentFacts(**{"incident_id": "INC-1", **changes})

    def test_codes_may_be_given_as_one_string(self) -> None:
        """A single category given as a string becomes a one-element set; harm codes convert."""
        facts = IncidentFacts(incident_id="I", categories="falls", physical_harm=3)
        assert facts.categories == frozenset({"falls"})
        assert facts.physical_harm is PhysicalHarm.MODERATE
        assert PhysicalHarm.SEVERE.at_least(PhysicalHarm.MODERATE)
        assert not PsychologicalHarm.LOW.at_least(PsychologicalHarm.MODERATE)


class TestPlanInCode:
    """Plans built in code are checked by the same rules as loaded plans."""

    def test_problems_of_a_plan_built_in_code(self, example_plan: Plan) -> None:
        """A plan changed in code has its cross-field mistakes found."""
        header = attrs.evolve(
            example_plan.plan,
            status=PlanStatus.ICB_AGREED,
            icb_agreed_on=date(2026, 1, 1),
            review_date=date(2020, 1, 1),
        )
        reviews = example_plan.thematic_reviews * 2
        broken = attrs.evolve(
            example_plan,
            plan=header,
            thematic_reviews=reviews,
            retention=RetentionSettings(classes={}),
            reserve_capacity=attrs.evolve(example_plan.reserve_capacity, period_months=0),
            response_types={},
            priorities=(
                attrs.evolve(
                    example_plan.priorities[0], criteria=AllOf(()), improvement_plan="a b"
                ),
            ),
        )
        paths = {format_path(p) for p, _ in plan_problems(broken)}
        assert {
            "plan.review_date",
            "plan.icb_agreed_on",
            "thematic_reviews[1].id",
            "retention.classes",
            "reserve_capacity.period_months",
            "response_types",
            "priorities[0].criteria.all",
            "priorities[0].improvement_plan",
        } <= paths

    def test_icb_status_needs_its_date(self, example_plan: Plan) -> None:
        """An ICB-agreed plan without the date of agreement is refused."""
        header = attrs.evolve(example_plan.plan, icb_agreed_on=None)
        paths = {format_path(p) for p, _ in plan_problems(attrs.evolve(example_plan, plan=header))}
        assert "plan.icb_agreed_on" in paths

    def test_working_calendar_and_retention(self, example_plan: Plan) -> None:
        """The plan gives its calendar and picks the longest applicable retention class."""
        calendar = example_plan.working_calendar()
        assert not calendar.is_working_day(date(2026, 12, 29))
        retention = example_plan.retention
        assert (
            retention.class_for([LifecycleVariant.PSII], national_requirement=False)[0] == "serious"
        )
        assert retention.class_for([], national_requirement=True)[1].years == 20
        assert (
            retention.class_for([LifecycleVariant.SWARM_HUDDLE], national_requirement=False)[0]
            == "standard"
        )
        assert example_plan.response_types["swarm_huddle"].effective_hard_cap is not None
        assert example_plan.response_types["rapid_review"].effective_hard_cap is None


class TestProblemPlumbing:
    """The helpers that turn exceptions into located problems."""

    def test_describe_names_every_toml_kind(self) -> None:
        """Each TOML value kind is described in plain words."""
        assert describe(time(9)) == "a time of day"
        assert describe(datetime(2026, 1, 1, tzinfo=UTC)) == "a date and time"
        assert describe(object()) == "object"
        assert describe("x" * 50).endswith("\u2026')")

    def test_format_path_quotes_odd_keys(self) -> None:
        """Keys that are not bare TOML keys are quoted."""
        assert format_path(("a", 'b "c"', 2)) == 'a."b \\"c\\""[2]'

    def test_unexpected_exceptions_are_reported_not_raised(self) -> None:
        """An exception the formatter does not know becomes a plain problem."""
        assert problems_from(RuntimeError("boom"), ("x",)) == [
            (("x",), "is not acceptable ('boom')")
        ]

    def test_locator_follows_quoted_keys_comments_and_multiline_arrays(self) -> None:
        """Lines are found through quoted keys, comments, strings with brackets and long arrays."""
        text = "\n".join(
            [
                '["odd key".b]',
                "x = 1",
                "list = [  # a comment",
                '  "a]",',
                "  'b',",
                "  [1, 2],",
                "]",
                "broken = [",
            ]
        )
        locator = LineLocator(text)
        assert locator.line_for(("odd key", "b", "x")) == 2
        assert locator.line_for(("odd key", "b", "list", 1)) == 5
        assert locator.line_for(("odd key", "b", "list", 2)) == 6
        assert locator.line_for(("odd key", "b", "broken")) == 8
        assert locator.line_for(("elsewhere",)) is None
