"""The loader's messages point at the real mistake and say how to fix it."""

from __future__ import annotations

import pytest

from psirf_flow.errors import PlanError, PlanProblem
from psirf_flow.policy import load_plan
from psirf_flow.policy._problems import close_match, syntax_error_place, syntax_hint


HEAD = """[plan]
id = "p"
version = "1"
organisation = "RX9"
effective_from = 2026-01-01
review_date = 2026-06-01
[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
"""


def problems(text: str) -> tuple[PlanProblem, ...]:
    """The problems the loader reports for ``text``."""
    with pytest.raises(PlanError) as caught:
        load_plan(text)
    return caught.value.problems


class TestUnknownSettings:
    """An unknown setting gets a suggestion only when it is plainly a slip."""

    def test_a_different_word_is_not_suggested(self) -> None:
        """``improvement_route`` is not offered ``improvement_plan``; the settings are listed."""
        text = HEAD + (
            '[[priorities]]\nid = "falls"\ncriteria = { fact = "categories", includes = "falls" }\n'
            'improvement_route = "falls-plan"\n'
        )
        (problem,) = problems(text)
        assert problem.path == "priorities[0].improvement_route"
        assert problem.line == 13
        assert "did you mean" not in problem.message
        assert problem.message.startswith("is not a known setting here; the settings here are: ")
        assert "improvement_plan" in problem.message
        assert "thematic_review" in problem.message

    @pytest.mark.parametrize(
        ("typo", "meant"),
        [
            ("improvment_plan", "improvement_plan"),
            ("decidedby", "decided_by"),
            ("titel", "title"),
        ],
    )
    def test_a_slip_is_suggested(self, typo: str, meant: str) -> None:
        """A slip of a letter or two is offered the setting meant."""
        text = HEAD + (
            '[[priorities]]\nid = "falls"\ncriteria = { fact = "died", is = true }\n'
            f'responses = {{ allowed = ["psii"], default = "psii" }}\n{typo} = "x"\n'
        )
        (problem,) = problems(text)
        assert problem.message == f"is not a known setting here; did you mean {meant!r}?"

    @pytest.mark.parametrize(
        ("word", "expected"),
        [
            ("improvement_route", None),
            ("improvement_plans", "improvement_plan"),
            ("at_lest", "at_least"),
            ("between_", "between"),
            ("within", None),
        ],
    )
    def test_close_match_judges_similarity(self, word: str, expected: str | None) -> None:
        """Only names four-fifths alike are close."""
        choices = ["improvement_plan", "at_least", "between", "thematic_review"]
        assert close_match(word, choices) == expected


class TestConditionMessages:
    """Mistakes inside conditions are explained in the condition's own terms."""

    def condition_problem(self, criteria: str) -> PlanProblem:
        """The one problem of a priority whose criteria are ``criteria``."""
        text = HEAD + (
            f'[[priorities]]\nid = "a"\ncriteria = {criteria}\n'
            'responses = { allowed = ["psii"], default = "psii" }\n'
        )
        (problem,) = problems(text)
        return problem

    def test_a_list_given_to_includes_suggests_in(self) -> None:
        """``includes`` with a list says to write ``in`` (any) or ``all`` (every)."""
        problem = self.condition_problem(
            '{ fact = "categories", includes = ["falls", "pressure_ulcer"] }'
        )
        assert problem.path == "priorities[0].criteria.includes"
        assert "in = [...]" in problem.message
        assert "all = [...]" in problem.message

    def test_a_misspelt_test_is_suggested(self) -> None:
        """``atleast`` is offered ``at_least``."""
        problem = self.condition_problem('{ fact = "age_years", atleast = 18 }')
        assert problem.path == "priorities[0].criteria.atleast"
        assert "did you mean 'at_least'?" in problem.message

    def test_a_misspelt_fact_is_suggested(self) -> None:
        """``gestation_week`` is offered ``gestation_weeks``."""
        problem = self.condition_problem('{ fact = "gestation_week", at_least = 37 }')
        assert problem.path == "priorities[0].criteria.fact"
        assert "did you mean 'gestation_weeks'?" in problem.message


#: (id, text after HEAD, path, line, words of the fix)
SYNTAX: list[tuple[str, str, str, int, str]] = [
    (
        "missing-value",
        "[triage]\nnational_psii_response = \n",
        "triage.national_psii_response",
        11,
        "a value is",
    ),
    (
        "unclosed-quote",
        '[triage]\nnational_psii_response = "psii\n',
        "triage.national_psii_response",
        11,
        "not closed",
    ),
    (
        "twice",
        '[triage]\nnational_psii_response = "a"\nnational_psii_response = "b"\n',
        "triage.national_psii_response",
        12,
        "written twice",
    ),
    ("table-twice", "[plan]\n", "plan", 10, "declared twice"),
    ("no-equals", '[triage]\nnational_psii_response "psii"\n', "triage", 11, "key = value"),
    (
        "array-of-tables",
        '[[priorities]]\nid = "a"\n[[priorities]]\nid = "b"\ntitle = yes\n',
        "priorities[1].title",
        14,
        "a value is",
    ),
    (
        "multi-line-list",
        '[[priorities]]\nid = "a"\nscope.settings = [\n  "ward",\n  ward2,\n]\n',
        "priorities[0].scope.settings",
        14,
        "a value is",
    ),
    ("stray-text", "[triage]\n!!\n", "triage", 11, "key = value or a # comment"),
]


class TestSyntaxErrors:
    """A TOML syntax error names its line, its column and the setting or table it is in."""

    @pytest.mark.parametrize(
        ("tail", "path", "line", "words"),
        [s[1:] for s in SYNTAX],
        ids=[s[0] for s in SYNTAX],
    )
    def test_syntax_error_is_placed(self, tail: str, path: str, line: int, words: str) -> None:
        """One problem, at the setting, with the line, a column and a fix."""
        (problem,) = problems(HEAD + tail)
        assert (problem.path, problem.line) == (path, line)
        assert problem.message.startswith(f"this is not valid TOML in {path}, column ")
        assert words in problem.message

    def test_error_at_the_end_of_the_file(self) -> None:
        """A mistake only seen at the end of the file says so, with no line."""
        (problem,) = problems(HEAD + "[triage.proportionate]\nallowed = [\n")
        assert problem.line is None or problem.line >= 11
        assert "not valid TOML" in problem.message

    def test_place_is_best_effort(self) -> None:
        """Before any table the place is the key alone; nothing written gives the root."""
        assert syntax_error_place('a = 1\nb = "x\n', 2) == ("b",)
        assert syntax_error_place("", 3) == ()
        assert syntax_error_place("[a.b]\n[[c]]\n[[c]]\n", 3) == ("c", 1)

    def test_unknown_parser_message_gets_no_hint(self) -> None:
        """A parser message with no known fix is shown as it is."""
        assert syntax_hint("Something new") is None
