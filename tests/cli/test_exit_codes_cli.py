"""Exit codes, the demo command and masked database URLs of ``psirf-flow``."""

from __future__ import annotations

import inspect
import string
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import cli, errors
from psirf_flow.cli import (
    EXIT_CODES,
    EXIT_INVALID,
    EXIT_REJECTED,
    EXIT_STORE,
    exit_code_for,
    main,
    shown_url,
)
from psirf_flow.errors import PsirfFlowError


#: The table documented in docs/reference/cli.md: each base class and its exit code.
DOCUMENTED: dict[str, int] = {
    "CommandRejected": EXIT_REJECTED,
    "DefinitionError": EXIT_INVALID,
    "StoreError": EXIT_STORE,
    "PsirfFlowError": EXIT_INVALID,
}


def _error_classes() -> list[type[PsirfFlowError]]:
    return [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, PsirfFlowError)
    ]


def _documented_code(kind: type[PsirfFlowError]) -> int:
    for base in kind.__mro__:
        if base.__name__ in DOCUMENTED and base.__name__ != "PsirfFlowError":
            return DOCUMENTED[base.__name__]
    return DOCUMENTED["PsirfFlowError"]


@pytest.mark.parametrize("kind", _error_classes(), ids=lambda k: k.__name__)
def test_every_error_class_maps_to_its_documented_code(kind: type[PsirfFlowError]) -> None:
    """Every PsirfFlowError subclass exits with the code its documented base class names."""
    error = kind.__new__(kind)

    assert exit_code_for(error) == _documented_code(kind)


def test_table_matches_documentation() -> None:
    """EXIT_CODES holds exactly the documented classes and codes, and the page lists them."""
    page = (Path(__file__).parents[2] / "docs" / "reference" / "cli.md").read_text("utf-8")

    assert {kind.__name__: code for kind, code, _ in EXIT_CODES} == DOCUMENTED
    for name, code in DOCUMENTED.items():
        assert f"| `{name}`" in page
        assert f"| {code} |" in page


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["db", "revision", "{missing}"], EXIT_STORE),
        (["verify", "{missing}"], EXIT_STORE),
        (["checkpoint", "{missing}", "--out", "{out}"], EXIT_STORE),
        (["report", "{missing}"], EXIT_INVALID),
        (["report", "{missing}", "--organisation", "RXY"], EXIT_STORE),
        (["report", "{missing}", "--organisation", "RXY", "--now", "soon"], EXIT_INVALID),
        (["db", "upgrade", "nosuchdialect://u:pw@h/db"], EXIT_STORE),
        (["sweep", "nosuchdialect://u:pw@h/db", "--once"], EXIT_STORE),
        (["diagram", "no_such_workflow"], 2),
        (["lessons", "{missing}", "--organisation", "RXY"], EXIT_INVALID),
        (["lessons", "{missing}", "--organisation", "RXY", "--since", "2026-01-01"], EXIT_STORE),
        (["plan", "check", "{bad_plan}"], EXIT_INVALID),
    ],
)
def test_failure_paths_return_documented_codes(
    runner: CliRunner, tmp_path: Path, args: list[str], code: int
) -> None:
    """Each command's failure paths exit with the code the exit-code table documents."""
    bad_plan = tmp_path / "plan.toml"
    bad_plan.write_text("not = [valid", "utf-8")
    values = {
        "missing": str(tmp_path / "missing.sqlite3"),
        "out": str(tmp_path / "cp.json"),
        "bad_plan": str(bad_plan),
    }

    result = runner.invoke(main, [arg.format(**values) for arg in args])

    assert result.exit_code == code, result.output


def test_demo_outside_a_checkout_exits_3(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``demo`` from an installed copy prints one line and exits 3."""
    monkeypatch.setattr(cli, "_demo_script", lambda: None)

    result = runner.invoke(main, ["demo"])

    assert result.exit_code == EXIT_INVALID
    assert result.output.strip().splitlines() == [
        "the demo runs from a source checkout only (examples/ is not installed)"
    ]


def test_demo_runs_the_checkout_script(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``demo`` runs the checkout's script with --db and exits with the script's code."""
    calls: list[list[str]] = []

    def fake_run(argv: list[str], *, check: bool) -> subprocess.CompletedProcess[bytes]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 5)

    monkeypatch.setattr(subprocess, "run", fake_run)
    db = tmp_path / "demo.sqlite3"

    result = runner.invoke(main, ["demo", "--db", str(db)])

    assert result.exit_code == 5
    script = Path(__file__).parents[2] / "examples" / "psii_lifecycle.py"
    assert calls == [[sys.executable, str(script.resolve()), "--db", str(db)]]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://user:s3cret@host/db", "postgresql+psycopg://user:***@host/db"),
        ("postgresql+psycopg://user@host:5432/db", "postgresql+psycopg://user@host:5432/db"),
        ("cases.sqlite3", "cases.sqlite3"),
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
    ],
)
def test_shown_url_masks_passwords(url: str, expected: str) -> None:
    """A URL's password and secret query values print as ``***``; other parts as given."""
    assert shown_url(url) == expected


def test_db_revision_prints_the_url_masked(runner: CliRunner, tmp_path: Path) -> None:
    """``db revision`` echoes the URL it read with the password masked."""
    path = tmp_path / "cases.sqlite3"
    assert runner.invoke(main, ["db", "upgrade", str(path)]).exit_code == 0

    result = runner.invoke(main, ["db", "revision", str(path)])

    assert result.exit_code == 0
    assert result.output.splitlines()[0] == f"url: {path}"


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db"],
        ["db", "revision", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db"],
        ["sweep", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db", "--once"],
        ["verify", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db"],
    ],
)
def test_failures_never_print_the_password(runner: CliRunner, args: list[str]) -> None:
    """A failing command's messages never contain the URL's password."""
    result = runner.invoke(main, args)

    assert result.exit_code == EXIT_STORE
    assert "s3cret" not in result.output


@given(password=st.text(alphabet=string.ascii_letters + string.digits + "!$-_.~", min_size=8))
def test_shown_url_never_shows_a_password(password: str) -> None:
    """Whatever the password, the URL shown masks it and keeps the user, host and database."""
    url = f"postgresql+psycopg://psirf:{password}@db.internal:5432/psirf"

    shown = shown_url(url)

    assert shown == "postgresql+psycopg://psirf:***@db.internal:5432/psirf"
