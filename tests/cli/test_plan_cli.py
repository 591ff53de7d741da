"""``psirf-flow plan check`` and ``psirf-flow plan schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from psirf_flow.cli import EXIT_INVALID, main
from psirf_flow.policy._problems import fix_for
from psirf_flow.policy.schema import plan_schema_text


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "plan-mental-health-community-trust.toml"

FAULTY = """\
[plan]
id = "p"
version = "1"
organisation = "RX9"
effective_from = 2026-01-01
[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
[[priorities]]
id = "falls"
criteria = { fact = "age_years", at_least = "65" }
improvment_plan = "falls-plan"
"""


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(name="faulty")
def _faulty(tmp_path: Path) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(FAULTY, encoding="utf-8")
    return path


class TestPlanCheck:
    """``plan check FILE`` prints every problem with its line and a fix."""

    @pytest.mark.parametrize("example", sorted(EXAMPLES.glob("plan-*.toml")), ids=lambda p: p.name)
    def test_every_shipped_example_is_clean(self, runner: CliRunner, example: Path) -> None:
        """Each example plan checks clean: exit 0 and a one-line summary."""
        result = runner.invoke(main, ["plan", "check", str(example)])
        assert result.exit_code == 0, result.output
        assert result.output.count("\n") == 1
        assert result.output.startswith(f"{example}: ")
        assert " is valid (" in result.output

    def test_the_example_summary(self, runner: CliRunner) -> None:
        """The summary names the plan, its version and what it holds."""
        result = runner.invoke(main, ["plan", "check", str(EXAMPLE)])
        assert (
            result.output == f"{EXAMPLE}: rx9-psirp@2.0 is valid (6 priorities, 7 response types)\n"
        )

    def test_problems_are_listed_with_lines_and_fixes(
        self, runner: CliRunner, faulty: Path
    ) -> None:
        """Each problem is one ``file:line: path: message`` line, a fix under it; exit 3."""
        result = runner.invoke(main, ["plan", "check", str(faulty)])
        assert result.exit_code == EXIT_INVALID
        assert result.stdout.splitlines() == [
            f"{faulty}:1: plan.review_date: is required but missing",
            "    fix: add this setting",
            f"{faulty}:11: priorities[0].criteria.at_least: expected a number, got text ('65')",
            "    fix: write a number here",
            f"{faulty}:12: priorities[0].improvment_plan: is not a known setting here; "
            "did you mean 'improvement_plan'?",
            "    fix: rename it to 'improvement_plan'",
        ]
        assert result.stderr == f"{faulty}: 3 problem(s)\n"

    def test_json_output_for_editors(self, runner: CliRunner, faulty: Path) -> None:
        """``--json`` gives the same problems as records, with the fix or null."""
        result = runner.invoke(main, ["plan", "check", "--json", str(faulty)])
        assert result.exit_code == EXIT_INVALID
        report = json.loads(result.stdout)
        assert report["source"] == str(faulty)
        assert report["valid"] is False
        assert report["plan"] is None
        assert report["problems"][0] == {
            "line": 1,
            "path": "plan.review_date",
            "message": "is required but missing",
            "fix": "add this setting",
        }
        assert [p["line"] for p in report["problems"]] == [1, 11, 12]

    def test_json_output_of_a_clean_plan(self, runner: CliRunner) -> None:
        """A clean plan's JSON says valid, names the plan and lists no problems."""
        result = runner.invoke(main, ["plan", "check", "--json", str(EXAMPLE)])
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "source": str(EXAMPLE),
            "valid": True,
            "plan": "rx9-psirp@2.0",
            "problems": [],
        }

    def test_a_missing_file_is_a_clear_problem(self, runner: CliRunner, tmp_path: Path) -> None:
        """A file that cannot be read is said so plainly, with a non-zero exit code."""
        missing = tmp_path / "nope.toml"
        result = runner.invoke(main, ["plan", "check", str(missing)])
        assert result.exit_code == EXIT_INVALID
        assert result.stdout == (
            f"{missing}: the file cannot be read (FileNotFoundError)\n"
            "    fix: check the path, and that the file is UTF-8 text\n"
        )

    def test_a_directory_or_binary_file_is_refused(self, runner: CliRunner, tmp_path: Path) -> None:
        """A directory, or bytes that are not UTF-8, cannot be read as a plan."""
        binary = tmp_path / "plan.bin"
        binary.write_bytes(b"\xff\xfe\x00plan")
        for path in (tmp_path, binary):
            result = runner.invoke(main, ["plan", "check", str(path)])
            assert result.exit_code == EXIT_INVALID
            assert "the file cannot be read" in result.stdout

    def test_text_that_is_not_toml(self, runner: CliRunner, tmp_path: Path) -> None:
        """Text that is not TOML is reported at its line, column and setting, with a fix."""
        path = tmp_path / "plan.toml"
        path.write_text('[plan]\nid = "p"\nversion = 1.0.0\n', encoding="utf-8")
        result = runner.invoke(main, ["plan", "check", str(path)])
        assert result.exit_code == EXIT_INVALID
        first, fix = result.stdout.splitlines()
        assert first.startswith(f"{path}:3: plan.version: this is not valid TOML in plan.version")
        assert "column" in first
        assert fix == '    fix: one setting per line, and text in quotes (version = "1.0.0")'


class TestPlanSchemaCommand:
    """``plan schema`` prints the generated JSON Schema."""

    def test_prints_the_generated_schema(self, runner: CliRunner) -> None:
        """The output is the generated schema, as published."""
        result = runner.invoke(main, ["plan", "schema"])
        assert result.exit_code == 0
        assert result.stdout == plan_schema_text()
        assert json.loads(result.stdout)["required"] == ["plan", "response_types"]


@pytest.mark.parametrize(
    ("message", "fix"),
    [
        ("is required but missing", "add this setting"),
        ("expected true or false, got text ('yes')", "write true or false here"),
        ("is not a known setting here; did you mean 'title'?", "rename it to 'title'"),
        (
            "is not a known setting here; the settings here are: a, b",
            "remove it, or rename it to one of the settings listed",
        ),
        ("this is not valid TOML in x, column 3: Odd", "correct the TOML syntax on this line"),
        ("must be after effective_from", None),
    ],
)
def test_fix_for_common_messages(message: str, fix: str | None) -> None:
    """Common messages turn into an instruction; others are their own fix."""
    assert fix_for(message) == fix
