"""Facts beyond codes: numbers, durations, times of day and dates compared in plan conditions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.errors import InvalidInput, PlanError
from psirf_flow.policy import (
    Comparison,
    Condition,
    FactTest,
    IncidentFacts,
    NationalRuleSet,
    Not,
    condition_problems,
    dump_plan,
    evaluate,
    load_plan,
    triage,
)
from psirf_flow.policy._convert import CONVERTER
from psirf_flow.policy._problems import format_path
from psirf_flow.policy.facts import (
    Duration,
    DurationUnit,
    FactDeclaration,
    FactKind,
    catalogue,
    check_extra_facts,
    parse_duration,
    parse_time_of_day,
)


HEAD = """
[plan]
id = "p"
version = "1"
organisation = "RX9"
effective_from = 2026-01-01
review_date = 2026-06-01
[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
"""


def plan_with(criteria: str, extra: str = "") -> str:
    """A small plan whose one priority has ``criteria``, plus ``extra`` tables."""
    return (
        HEAD
        + extra
        + f"""
[[priorities]]
id = "a"
criteria = {criteria}
responses = {{ allowed = ["psii"], default = "psii" }}
"""
    )


def criteria_of(text: str) -> Condition:
    """The criteria of the one priority in ``text``, loaded through the plan loader."""
    criteria = load_plan(text).priorities[0].criteria
    assert criteria is not None
    return criteria


BABY = IncidentFacts(
    incident_id="INC-1",
    age_years=0,
    gestation_weeks=37,
    specialties_involved=2,
    wards_involved=1,
    time_of_day="23:15",
    time_since_admission="36 hours",
    occurred_on=date(2026, 5, 1),
    identified_on=date(2026, 5, 3),
)
NOTHING_KNOWN = IncidentFacts(incident_id="INC-2")

#: (id, condition as written in a plan, holds for BABY)
WORDINGS: list[tuple[str, str, bool]] = [
    ("born-at-37-weeks-or-more", '{ fact = "gestation_weeks", at_least = 37 }', True),
    ("born-before-37-weeks", '{ fact = "gestation_weeks", less_than = 37 }', False),
    ("more-than-one-specialty", '{ fact = "specialties_involved", more_than = 1 }', True),
    ("more-than-one-ward", '{ fact = "wards_involved", more_than = 1 }', False),
    ("one-ward-exactly", '{ fact = "wards_involved", is = 1 }', True),
    ("adults", '{ fact = "age_years", at_least = 18 }', False),
    ("under-18", '{ fact = "age_years", at_most = 17 }', True),
    ("fractional-gestation", '{ fact = "gestation_weeks", between = [36.5, 37.5] }', True),
    (
        "within-48-hours-of-admission",
        '{ fact = "time_since_admission", within = "48 hours" }',
        True,
    ),
    ("within-1-day", '{ fact = "time_since_admission", within = "1 day" }', False),
    ("after-30-minutes", '{ fact = "time_since_admission", more_than = "30 minutes" }', True),
    ("under-2-weeks", '{ fact = "time_since_admission", less_than = "2 weeks" }', True),
    ("night-wraps-midnight", '{ fact = "time_of_day", between = ["22:00", "06:00"] }', True),
    ("day-shift", '{ fact = "time_of_day", between = ["08:00", "20:00"] }', False),
    ("toml-time", '{ fact = "time_of_day", at_least = 23:00:00 }', True),
    ("on-or-after", '{ fact = "occurred_on", on_or_after = 2026-05-01 }', True),
    ("before", '{ fact = "identified_on", before = 2026-05-03 }', False),
    ("date-between", '{ fact = "occurred_on", between = [2026-04-01, 2026-04-30] }', False),
    ("iso-text-date", '{ fact = "occurred_on", on_or_after = "2026-04-01" }', True),
    ("age-known", '{ fact = "age_years", present = true }', True),
]


class TestPublishedWordings:
    """Conditions written as published plans word them hold as the words say."""

    @pytest.mark.parametrize(
        ("criteria", "expected"), [w[1:] for w in WORDINGS], ids=[w[0] for w in WORDINGS]
    )
    def test_wording_holds_for_the_baby(self, criteria: str, *, expected: bool) -> None:
        """The condition loads from a plan and evaluates as the wording says."""
        assert evaluate(criteria_of(plan_with(criteria)), BABY) is expected

    @pytest.mark.parametrize("criteria", [w[1] for w in WORDINGS], ids=[w[0] for w in WORDINGS])
    def test_missing_fact_never_matches_a_comparison(self, criteria: str) -> None:
        """With the fact not given, no comparison holds (``present = true`` included)."""
        condition = criteria_of(plan_with(criteria))
        assert evaluate(condition, NOTHING_KNOWN) is False
        assert evaluate(Not(condition), NOTHING_KNOWN) is True

    def test_numbers_compare_by_value_whatever_their_type(self) -> None:
        """37 weeks written as a whole number equals a recorded 37.0, and is no flag."""
        condition = criteria_of(plan_with('{ fact = "gestation_weeks", is = 37 }'))
        assert evaluate(condition, IncidentFacts(incident_id="I", gestation_weeks=37.0)) is True
        assert evaluate(condition, IncidentFacts(incident_id="I", gestation_weeks=37.5)) is False
        flag = FactTest("night_shift", Comparison.IS, True)
        assert evaluate(flag, IncidentFacts(incident_id="I", extra={"night_shift": 1})) is False

    def test_present_false_matches_a_missing_fact(self) -> None:
        """``present = false`` is the one test that holds when a fact is missing."""
        condition = criteria_of(plan_with('{ fact = "age_years", present = false }'))
        assert evaluate(condition, NOTHING_KNOWN) is True
        assert evaluate(condition, BABY) is False

    def test_conditions_round_trip_through_dump(self) -> None:
        """A plan with every new comparison dumps and loads back equal, durations as text."""
        criteria = "{ all = [" + ", ".join(w[1] for w in WORDINGS) + "] }"
        plan = load_plan(plan_with(criteria))
        text = dump_plan(plan)
        assert '"48 hours"' in text
        assert '"22:00"' in text
        assert load_plan(text) == plan


ABOUT_NUMBERS = st.integers(min_value=-5, max_value=50) | st.floats(
    min_value=-5, max_value=50, allow_nan=False
)


class TestComparisonSemantics:
    """The comparisons obey their algebra for every value (hypothesis)."""

    @given(
        actual=st.integers(min_value=0, max_value=45),
        low=ABOUT_NUMBERS,
        high=ABOUT_NUMBERS,
    )
    def test_between_is_at_least_and_at_most(self, actual: int, low: float, high: float) -> None:
        """``between [lo, hi]`` holds exactly when ``at_least lo`` and ``at_most hi`` both do."""
        facts = IncidentFacts(incident_id="I", gestation_weeks=actual)
        between = FactTest("gestation_weeks", Comparison.BETWEEN, (low, high))
        at_least = FactTest("gestation_weeks", Comparison.AT_LEAST, low)
        at_most = FactTest("gestation_weeks", Comparison.AT_MOST, high)
        assert evaluate(between, facts) is (evaluate(at_least, facts) and evaluate(at_most, facts))

    @given(actual=st.integers(min_value=0, max_value=130), value=ABOUT_NUMBERS)
    def test_strict_and_loose_comparisons_agree(self, actual: int, value: float) -> None:
        """``more_than`` is ``not at_most`` and ``less_than`` is ``not at_least`` (fact given)."""
        facts = IncidentFacts(incident_id="I", age_years=actual)

        def holds(test: Comparison) -> bool:
            return evaluate(FactTest("age_years", test, value), facts)

        assert holds(Comparison.MORE_THAN) is not holds(Comparison.AT_MOST)
        assert holds(Comparison.LESS_THAN) is not holds(Comparison.AT_LEAST)
        assert evaluate(Not(FactTest("age_years", Comparison.AT_LEAST, value)), facts) is not (
            holds(Comparison.AT_LEAST)
        )

    @given(
        actual=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    )
    def test_time_window_wraps_midnight(self, actual: time, start: time, end: time) -> None:
        """A window whose start is after its end covers the night: outside the gap between."""
        facts = IncidentFacts(incident_id="I", time_of_day=actual)
        inside = evaluate(FactTest("time_of_day", Comparison.BETWEEN, (start, end)), facts)
        if start <= end:
            assert inside is (start <= actual <= end)
        else:
            assert inside is not (end < actual < start)

    @given(
        minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
        amount=st.integers(min_value=0, max_value=500),
        unit=st.sampled_from(list(DurationUnit)),
    )
    def test_within_is_at_most_for_durations(
        self, minutes: int, amount: int, unit: DurationUnit
    ) -> None:
        """``within`` a duration is the same as ``at_most`` it, compared on the clock."""
        facts = IncidentFacts(incident_id="I", time_since_admission=timedelta(minutes=minutes))
        window = Duration(amount, unit)
        within = evaluate(FactTest("time_since_admission", Comparison.WITHIN, window), facts)
        assert within is evaluate(
            FactTest("time_since_admission", Comparison.AT_MOST, window), facts
        )
        assert within is (timedelta(minutes=minutes) <= window.delta)


#: (id, condition, path of the one problem, words in its message)
MISTAKES: list[tuple[str, str, str, str]] = [
    (
        "duration-unit",
        '{ fact = "time_since_admission", within = "48 hrs" }',
        "within",
        'a duration such as "48 hours"',
    ),
    ("number-as-text", '{ fact = "age_years", at_least = "18" }', "at_least", "a number"),
    (
        "time-not-hhmm",
        '{ fact = "time_of_day", between = ["22:00", "6am"] }',
        "between[1]",
        "24-hour clock",
    ),
    ("time-25", '{ fact = "time_of_day", at_least = "25:00" }', "at_least", "24-hour"),
    ("between-one-value", '{ fact = "age_years", between = [18] }', "between", "[low, high]"),
    ("between-reversed", '{ fact = "age_years", between = [65, 18] }', "between", "low end"),
    ("within-on-number", '{ fact = "age_years", within = 3 }', "within", "use one of"),
    ("date-test-on-time", '{ fact = "time_of_day", before = "06:00" }', "before", "use one of"),
    ("before-a-number", '{ fact = "occurred_on", before = 2026 }', "before", "a date"),
    ("number-on-flag", '{ fact = "died", at_least = 1 }', "at_least", "use one of"),
]


class TestMistakes:
    """Each mistake in a comparison is refused at its path with a message that says the fix."""

    @pytest.mark.parametrize(
        ("criteria", "path", "words"),
        [m[1:] for m in MISTAKES],
        ids=[m[0] for m in MISTAKES],
    )
    def test_mistake_is_reported(self, criteria: str, path: str, words: str) -> None:
        """The plan is refused with one problem at the test, saying what was expected."""
        with pytest.raises(PlanError) as caught:
            load_plan(plan_with(criteria))
        problems = [p for p in caught.value.problems if p.path.startswith("priorities[0]")]
        assert [p.path for p in problems] == [f"priorities[0].criteria.{path}"]
        assert words in problems[0].message
        assert problems[0].line == 14  # the criteria line


class TestPlanDeclaredFacts:
    """A plan may declare facts of its own, compared in its conditions like built-in ones."""

    DECLARED = """
[facts.call_to_arrival]
kind = "duration"
title = "Time from 999 call to arrival on scene"
[facts.category_one_call]
kind = "flag"
"""

    def test_declared_fact_is_compared(self) -> None:
        """A declared duration fact given in ``extra`` is compared like a built-in one."""
        text = plan_with('{ fact = "call_to_arrival", more_than = "30 minutes" }', self.DECLARED)
        plan = load_plan(text)
        assert plan.facts["call_to_arrival"] == FactDeclaration(
            kind=FactKind.DURATION, title="Time from 999 call to arrival on scene"
        )
        criteria = plan.priorities[0].criteria
        assert criteria is not None
        late = IncidentFacts(incident_id="I", extra={"call_to_arrival": timedelta(minutes=41)})
        prompt = IncidentFacts(
            incident_id="I", extra={"call_to_arrival": Duration(20, DurationUnit.MINUTES)}
        )
        assert evaluate(criteria, late) is True
        assert evaluate(criteria, prompt) is False
        assert evaluate(criteria, NOTHING_KNOWN) is False
        check_extra_facts(late, plan.facts)
        assert load_plan(dump_plan(plan)) == plan

    def test_triage_follows_a_priority_on_a_declared_fact(self, rules: NationalRuleSet) -> None:
        """At run time, triage recommends the priority whose declared-fact criteria hold."""
        text = plan_with('{ fact = "call_to_arrival", more_than = "2 hours" }', self.DECLARED)
        plan = load_plan(text)
        late = IncidentFacts(incident_id="I", extra={"call_to_arrival": timedelta(hours=3)})
        advice = triage(late, plan, rules)
        assert advice.default_response == "psii"
        assert advice.rule_refs == ("p@1#a",)
        prompt = IncidentFacts(incident_id="I", extra={"call_to_arrival": timedelta(hours=1)})
        assert triage(prompt, plan, rules).rule_refs == ()

    def test_a_missing_declared_flag_matches_only_present_false(self) -> None:
        """A plan's own flag not given matches neither ``is = true`` nor ``is = false``."""
        criteria = {
            test: criteria_of(plan_with(f'{{ fact = "category_one_call", {test} }}', self.DECLARED))
            for test in ("is = true", "is = false", "present = false")
        }
        given = IncidentFacts(incident_id="I", extra={"category_one_call": False})
        assert {t: evaluate(c, NOTHING_KNOWN) for t, c in criteria.items()} == {
            "is = true": False,
            "is = false": False,
            "present = false": True,
        }
        assert {t: evaluate(c, given) for t, c in criteria.items()} == {
            "is = true": False,
            "is = false": True,
            "present = false": False,
        }

    def test_undeclared_fact_is_a_load_error_with_a_suggestion(self) -> None:
        """A condition naming an undeclared fact is refused, suggesting the near name."""
        text = plan_with('{ fact = "call_to_arival", more_than = "30 minutes" }', self.DECLARED)
        with pytest.raises(PlanError) as caught:
            load_plan(text)
        [problem] = caught.value.problems
        assert problem.path == "priorities[0].criteria.fact"
        assert "did you mean 'call_to_arrival'?" in problem.message
        assert "[facts.<name>]" in problem.message

    def test_declared_kind_decides_the_tests(self) -> None:
        """A test the declared kind does not allow is refused (a flag has no ``more_than``)."""
        text = plan_with('{ fact = "category_one_call", more_than = 1 }', self.DECLARED)
        with pytest.raises(PlanError) as caught:
            load_plan(text)
        assert [p.path for p in caught.value.problems] == ["priorities[0].criteria.more_than"]

    @pytest.mark.parametrize(
        ("table", "path", "words"),
        [
            ('[facts.age_years]\nkind = "number"', "facts.age_years", "built-in"),
            ('[facts.Bad-Name]\nkind = "number"', "facts.Bad-Name", "lower-case"),
            ('[facts.harm2]\nkind = "physical_harm"', "facts.harm2.kind", "may be one of"),
            ('[facts.x]\nkind = "numbr"', "facts.x.kind", "expected one of"),
        ],
        ids=["built-in-name", "bad-name", "harm-kind", "unknown-kind"],
    )
    def test_bad_declarations_are_refused(self, table: str, path: str, words: str) -> None:
        """Declarations that shadow a built-in, misname or mis-kind a fact are refused."""
        with pytest.raises(PlanError) as caught:
            load_plan(plan_with('{ fact = "died", is = true }', "\n" + table + "\n"))
        assert [p.path for p in caught.value.problems] == [path]
        assert words in caught.value.problems[0].message

    def test_unreadable_declaration_does_not_report_its_uses(self) -> None:
        """When a declaration cannot be read, conditions using it are not called unknown."""
        text = plan_with('{ fact = "x", more_than = 1 }', '\n[facts.x]\nkind = "numbr"\n')
        with pytest.raises(PlanError) as caught:
            load_plan(text)
        assert [p.path for p in caught.value.problems] == ["facts.x.kind"]

    def test_extra_values_are_checked_against_declarations(self) -> None:
        """An undeclared name (with a suggestion) or a value of another kind is refused."""
        declared = {
            "call_to_arrival": FactDeclaration(kind=FactKind.DURATION),
            "units": FactDeclaration(kind=FactKind.CODES),
        }
        with pytest.raises(InvalidInput, match="did you mean 'call_to_arrival'") as caught:
            check_extra_facts(IncidentFacts(incident_id="I", extra={"call_to_arival": 3}), declared)
        assert caught.value.code == "PSF700"
        with pytest.raises(InvalidInput, match="is a number but the plan declares a duration"):
            check_extra_facts(
                IncidentFacts(incident_id="I", extra={"call_to_arrival": 3}), declared
            )
        given = IncidentFacts(
            incident_id="I", extra={"units": ["icu", "ed"], "call_to_arrival": None}
        )
        check_extra_facts(given, declared)
        assert given.extra["units"] == frozenset({"icu", "ed"})
        assert catalogue(declared)["units"] is FactKind.CODES

    def test_wrong_kind_met_in_evaluation_is_invalid_input(self) -> None:
        """A value of another kind reaching a comparison is refused, never a Python error."""
        condition = FactTest(
            "call_to_arrival", Comparison.MORE_THAN, Duration(30, DurationUnit.MINUTES)
        )
        with pytest.raises(InvalidInput, match="call_to_arrival"):
            evaluate(condition, IncidentFacts(incident_id="I", extra={"call_to_arrival": 45}))


class TestFactValues:
    """Facts given by the host are validated with clear messages."""

    @pytest.mark.parametrize(
        ("changes", "words"),
        [
            ({"age_years": -1}, "age_years must be between 0 and 130"),
            ({"age_years": True}, "age_years must be a number"),
            ({"age_years": float("nan")}, "age_years must be a number"),
            ({"gestation_weeks": 46}, "gestation_weeks must be between 0 and 45"),
            ({"specialties_involved": 1.5}, "specialties_involved must be a whole number"),
            ({"wards_involved": -2}, "wards_involved must be between"),
            ({"time_of_day": "25:00"}, "time_of_day must be a time of day written HH:MM"),
            ({"time_of_day": "10pm"}, "HH:MM"),
            ({"time_since_admission": "two days"}, 'a duration such as "48 hours"'),
            ({"time_since_admission": timedelta(hours=-1)}, "must not be negative"),
            ({"extra": {"x": "free text here"}}, "extra['x']"),
            ({"extra": {"x": object()}}, "must be a flag, a code"),
            ({"extra": {"X y": 1}}, "not a fact name"),
            ({"extra": {"age_years": 3}}, "built-in fact"),
            ({"extra": {"d": timedelta(hours=-1)}}, "negative duration"),
            ({"extra": [1]}, "must be a mapping"),
        ],
        ids=[
            "negative-age",
            "bool-age",
            "nan-age",
            "gestation-over-45",
            "fractional-count",
            "negative-count",
            "time-25",
            "time-words",
            "duration-words",
            "negative-duration",
            "free-text-extra",
            "odd-extra",
            "bad-extra-name",
            "extra-shadows-built-in",
            "negative-extra-duration",
            "extra-not-mapping",
        ],
    )
    def test_bad_value_is_refused(self, changes: dict[str, Any], words: str) -> None:
        """The value is refused with InvalidInput naming the fact and what is expected."""
        with pytest.raises(InvalidInput) as caught:
            IncidentFacts(**{"incident_id": "I", **changes})
        assert words in str(caught.value)

    @pytest.mark.parametrize(
        ("instant", "expected"),
        [
            (datetime(2026, 7, 1, 21, 30, tzinfo=UTC), time(22, 30)),
            (datetime(2026, 1, 15, 21, 30, tzinfo=UTC), time(21, 30)),
            (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), time(0, 59)),
            (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), time(2, 0)),
        ],
        ids=["summer", "winter", "before-clocks-go-forward", "after-clocks-go-forward"],
    )
    def test_an_instant_is_read_on_the_uk_clock(self, instant: datetime, expected: time) -> None:
        """An aware instant gives the time of day in Europe/London, summer time included."""
        facts = IncidentFacts(incident_id="I", time_of_day=instant)
        assert facts.time_of_day == expected

    def test_a_naive_instant_is_refused(self) -> None:
        """A datetime without a zone names no clock, so it is refused."""
        with pytest.raises(InvalidInput, match="time_of_day must be a time of day"):
            IncidentFacts(incident_id="I", time_of_day=datetime(2026, 1, 1, 22, 0))  # noqa: DTZ001

    def test_accepted_forms_are_normalised(self) -> None:
        """Text times and durations become ``time`` and ``timedelta``; extras keep their kind."""
        facts = IncidentFacts(
            incident_id="I",
            time_of_day="06:05",
            time_since_admission=Duration(2, DurationUnit.WEEKS),
            extra={"seen_on": date(2026, 1, 2), "shift_start": time(7), "night": True},
        )
        assert facts.time_of_day == time(6, 5)
        assert facts.time_since_admission == timedelta(days=14)
        assert facts.value_of("seen_on") == date(2026, 1, 2)
        assert facts.value_of("never_given") is None
        with pytest.raises(KeyError):
            facts.value_of("extra")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("48 hours", Duration(48, DurationUnit.HOURS)),
            ("1 hour", Duration(1, DurationUnit.HOURS)),
            ("7 days", Duration(7, DurationUnit.DAYS)),
            ("30 minutes", Duration(30, DurationUnit.MINUTES)),
            ("2 weeks", Duration(2, DurationUnit.WEEKS)),
            ("48hours", None),
            ("3 months", None),
            ("-1 days", None),
            (48, None),
        ],
    )
    def test_durations_are_parsed(self, text: object, expected: Duration | None) -> None:
        """Durations are a whole number and minutes, hours, days or weeks; months are not."""
        assert parse_duration(text) == expected

    @given(amount=st.integers(min_value=0, max_value=999_999), unit=st.sampled_from(DurationUnit))
    def test_duration_text_round_trips(self, amount: int, unit: DurationUnit) -> None:
        """Every duration reads back from the text it is written as."""
        duration = Duration(amount, unit)
        assert parse_duration(str(duration)) == duration

    def test_duration_is_written_back_as_text(self) -> None:
        """A duration is written as plans write it, singular for one."""
        assert str(Duration(1, DurationUnit.DAYS)) == "1 day"
        assert str(Duration(48, DurationUnit.HOURS)) == "48 hours"
        assert Duration(2, DurationUnit.WEEKS).delta == timedelta(days=14)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("00:00", time(0)), ("23:59", time(23, 59)), ("24:00", None), ("7:00", None), (7, None)],
    )
    def test_times_of_day_are_parsed(self, text: object, expected: time | None) -> None:
        """Times of day are HH:MM on the 24-hour clock."""
        assert parse_time_of_day(text) == expected


def test_condition_problems_takes_a_catalogue() -> None:
    """Checking against a catalogue with a plan's fact accepts it; without, suggests nothing."""
    test = FactTest("beds", Comparison.AT_LEAST, 3)
    declared = {"beds": FactDeclaration(kind=FactKind.NUMBER)}
    assert condition_problems(test, facts=catalogue(declared)) == []
    [(path, message)] = condition_problems(test)
    assert format_path(path) == "fact"
    assert "did you mean" not in message
    assert condition_problems(test, skip_unknown=True) == []
    assert CONVERTER.unstructure(test) == {"fact": "beds", "at_least": 3}


class TestTriageChecksDeclaredFacts:
    """Triage refuses the plan's own facts that the plan does not declare or mistypes."""

    def test_undeclared_extra_fact_refused_by_triage(self) -> None:
        """An extra fact the plan does not declare is refused by triage with InvalidInput."""
        from psirf_flow.errors import InvalidInput
        from psirf_flow.policy import load_national_rules, triage
        from psirf_flow.policy.loading import load_plan_file

        example = Path(__file__).parents[2] / "examples" / "plan-mental-health-community-trust.toml"
        plan = load_plan_file(example)
        facts = IncidentFacts(incident_id="INC-1", extra={"not_declared_anywhere": 3})
        with pytest.raises(InvalidInput) as caught:
            triage(facts, plan, load_national_rules())
        assert "not_declared_anywhere" in str(caught.value)
