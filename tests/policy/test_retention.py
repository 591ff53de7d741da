"""Retention per incident and the Records Management Code's minimum (psirf-rules §4.5, §7.2).

The Code keeps serious-incident records 20 years and other incident records 10 years;
PSII and national-requirement records are the serious ones (INF). The tables below are
typed out by hand from those figures.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.errors import PlanError
from psirf_flow.policy import LifecycleVariant, RetentionClass, RetentionSettings, load_plan
from psirf_flow.policy.retention import (
    MINIMUM_YEARS,
    SERIOUS_MINIMUM_YEARS,
    highest_class,
    minimum_problems,
    settled_class,
)


DEFAULT = RetentionSettings()
PSII = LifecycleVariant.PSII
AAR = LifecycleVariant.AFTER_ACTION_REVIEW

#: Own need, floor, class carried: (variants, national requirement, floor, expected).
SETTLED_ROWS = [
    pytest.param([], False, [], "standard", id="intake-nothing"),
    pytest.param([AAR], False, [], "standard", id="aar-local"),
    pytest.param([PSII], False, [], "serious", id="psii"),
    pytest.param([], True, [], "serious", id="national"),
    pytest.param([AAR], False, ["serious"], "serious", id="raised-by-incident"),
    pytest.param([], False, ["serious", None], "serious", id="never-lowered"),
    pytest.param([PSII], False, ["standard"], "serious", id="floor-lower"),
    pytest.param([], False, ["retired-class", None], "standard", id="unknown-floor-ignored"),
]


class TestSettledClass:
    """A record's class is its own need raised to its floor, never lowered (§4.5)."""

    @pytest.mark.parametrize(("variants", "national", "floor", "expected"), SETTLED_ROWS)
    def test_table(
        self,
        variants: list[LifecycleVariant],
        national: bool,
        floor: list[str | None],
        expected: str,
    ) -> None:
        """The class carried is the longest of the own need and the floor."""
        assert settled_class(DEFAULT, variants, national_requirement=national, floor=floor) == (
            expected
        )

    def test_highest_class_breaks_ties_by_name(self) -> None:
        """Equal periods are ordered by name, so the choice never depends on input order."""
        settings = RetentionSettings(
            classes={"a": RetentionClass(years=10), "b": RetentionClass(years=10)},
            default_class="a",
        )

        assert highest_class(settings, ["b", "a"]) == highest_class(settings, ["a", "b"]) == "b"
        assert highest_class(settings, [None, "gone"]) is None

    @given(
        variants=st.lists(st.sampled_from(list(LifecycleVariant)), max_size=3),
        national=st.booleans(),
        floor=st.lists(st.sampled_from(["serious", "standard", "gone", None]), max_size=4),
    )
    def test_never_below_floor_or_own_need(
        self, variants: list[LifecycleVariant], national: bool, floor: list[str | None]
    ) -> None:
        """The class carried keeps records at least as long as each known floor and the need."""
        settled = settled_class(DEFAULT, variants, national_requirement=national, floor=floor)
        own, _ = DEFAULT.class_for(variants, national_requirement=national)
        years = DEFAULT.classes[settled].years

        assert years >= DEFAULT.classes[own].years
        assert all(years >= DEFAULT.classes[f].years for f in floor if f in DEFAULT.classes)


#: A plan's retention table and the problem paths the Code's minimum finds there.
MINIMUM_ROWS = [
    pytest.param(
        {
            "serious": RetentionClass(
                years=20, applies_to_variants=(PSII,), applies_to_national_requirements=True
            ),
            "standard": RetentionClass(years=10),
        },
        "standard",
        [],
        id="code-defaults",
    ),
    pytest.param({"everything": RetentionClass(years=25)}, "everything", [], id="one-long-class"),
    pytest.param(
        {
            "serious": RetentionClass(
                years=20, applies_to_variants=(PSII,), applies_to_national_requirements=True
            ),
            "short": RetentionClass(years=5),
        },
        "short",
        [("classes", "short", "years")],
        id="standard-too-short",
    ),
    pytest.param(
        {
            "serious": RetentionClass(
                years=15, applies_to_variants=(PSII,), applies_to_national_requirements=True
            ),
            "standard": RetentionClass(years=10),
        },
        "standard",
        [("classes", "serious", "years")],
        id="serious-too-short",
    ),
    pytest.param(
        {"standard": RetentionClass(years=10)},
        "standard",
        [("classes", "standard", "years")],
        id="no-serious-class",
    ),
    pytest.param(
        {
            "psii": RetentionClass(years=20, applies_to_variants=(PSII,)),
            "standard": RetentionClass(years=12),
        },
        "standard",
        [("classes", "standard", "years")],
        id="national-falls-to-default",
    ),
]


class TestCodeMinimum:
    """A plan never keeps records shorter than the Records Management Code allows (§7.2)."""

    @pytest.mark.parametrize(("classes", "default", "paths"), MINIMUM_ROWS)
    def test_minimum_problems(
        self,
        classes: dict[str, RetentionClass],
        default: str,
        paths: list[tuple[str, ...]],
    ) -> None:
        """Each class shorter than the Code's minimum is reported at its years."""
        problems = minimum_problems(RetentionSettings(classes=classes, default_class=default))

        assert [p for p, _ in problems] == paths
        assert all("Records Management Code" in message for _, message in problems)

    def test_the_minimums_are_the_codes(self) -> None:
        """10 years for incident records, 20 for serious incidents (S-RMCOP ✔)."""
        assert (MINIMUM_YEARS, SERIOUS_MINIMUM_YEARS) == (10, 20)

    @pytest.mark.parametrize(
        ("table", "path", "words"),
        [
            pytest.param(
                '[retention.classes.serious]\nyears = 20\napplies_to_variants = ["psii"]\n'
                "applies_to_national_requirements = true\n"
                "[retention.classes.standard]\nyears = 7\n",
                "retention.classes.standard.years",
                "at least 10 years",
                id="standard-7",
            ),
            pytest.param(
                '[retention.classes.serious]\nyears = 12\napplies_to_variants = ["psii"]\n'
                "applies_to_national_requirements = true\n"
                "[retention.classes.standard]\nyears = 10\n",
                "retention.classes.serious.years",
                "at least 20 years",
                id="serious-12",
            ),
        ],
    )
    def test_plan_with_a_short_class_is_refused(
        self, example_text: str, table: str, path: str, words: str
    ) -> None:
        """Loading refuses the plan with a PlanError problem at the class's TOML path."""
        start = example_text.index("[retention]")
        end = example_text.find("\n[", example_text.index("[retention.classes.standard]"))
        text = example_text[:start] + '[retention]\ndefault_class = "standard"\n' + table
        text += example_text[end:] if end >= 0 else ""

        with pytest.raises(PlanError) as refused:
            load_plan(text)

        assert [(p.path, words in p.message) for p in refused.value.problems] == [(path, True)]

    def test_the_example_plan_meets_the_code(self, example_text: str) -> None:
        """The shipped example plan keeps records as long as the Code requires."""
        plan = load_plan(example_text)

        assert minimum_problems(plan.retention) == []
