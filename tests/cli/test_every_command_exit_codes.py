"""Every command of ``psirf-flow``, its success code and each documented failure's code.

The table below is walked against the click group itself: a command (or group) added
without a row fails ``test_every_command_has_rows``, and the per-command table in
``docs/reference/cli.md`` must list exactly the codes each command's rows exercise.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from psirf_flow import Actor, Engine, Role, cli
from psirf_flow.cli import EXIT_BROKEN, EXIT_INVALID, EXIT_REJECTED, EXIT_STORE, main
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


OK = 0
USAGE = 2  # click's usage errors; EXIT_REJECTED is the same number, for CommandRejected
assert USAGE == EXIT_REJECTED
PAGE = Path(__file__).parents[2] / "docs" / "reference" / "cli.md"
EXAMPLE_PLAN = Path(__file__).parents[2] / "examples" / "plan-mental-health-community-trust.toml"
#: A PostgreSQL URL with a password, on a port nothing listens on.
SECRET_URL = "postgresql+psycopg://psirf:s3cret-pw@127.0.0.1:1/psirf"  # noqa: S105 - a test value

#: Per command (its path in the group), rows of (arguments, expected code, what it shows).
#: Placeholders in braces are filled from the ``places`` fixture.
ROWS: dict[str, list[tuple[list[str], int, str]]] = {
    "": [
        (["--version"], OK, "the version"),
        ([], USAGE, "no command"),
        (["no-such-command"], USAGE, "unknown command"),
    ],
    "db": [([], USAGE, "no subcommand")],
    "db upgrade": [
        (["db", "upgrade", "{fresh}"], OK, "creates the schema"),
        (["db", "upgrade", "{db}"], OK, "already at head: nothing changes"),
        (["db", "upgrade", "{newer}"], EXIT_STORE, "SchemaVersionError: newer revision"),
        (["db", "upgrade", "nosuchdialect://u:pw@h/db"], EXIT_STORE, "StoreError: bad URL"),
        (["db", "upgrade", SECRET_URL], EXIT_STORE, "StoreUnavailable"),
        (["db", "upgrade"], USAGE, "missing URL"),
    ],
    "db revision": [
        (["db", "revision", "{db}"], OK, "prints the revisions"),
        (["db", "revision", "{missing}"], EXIT_STORE, "StoreUnavailable: no such file"),
        (["db", "revision", SECRET_URL], EXIT_STORE, "StoreUnavailable"),
        (["db", "revision"], USAGE, "missing URL"),
    ],
    "verify": [
        (["verify", "{db}"], OK, "every trail intact"),
        (["verify", "{db}", "--case", "PSII-1"], OK, "one trail intact"),
        (["verify", "{broken}"], EXIT_BROKEN, "an altered trail"),
        (["verify", "{db}", "--checkpoint", "{stale_checkpoint}"], EXIT_BROKEN, "a finding"),
        (["verify", "{db}", "--case", "NOPE"], EXIT_INVALID, "CaseNotFound"),
        (["verify", "{db}", "--case", "9434765919"], EXIT_INVALID, "InvalidInput"),
        (["verify", "{db}", "--key-file", "{bad_keys}"], EXIT_INVALID, "AuditKeyError"),
        (["verify", "{db}", "--checkpoint", "{bad_checkpoint}"], EXIT_INVALID, "Checkpoint…"),
        (["verify", "{missing}"], EXIT_STORE, "StoreUnavailable"),
        (["verify", "{unmigrated}"], EXIT_STORE, "SchemaVersionError: no schema"),
        (["verify", SECRET_URL], EXIT_STORE, "StoreUnavailable"),
        (["verify"], USAGE, "missing URL"),
    ],
    "checkpoint": [
        (["checkpoint", "{db}", "--out", "{out}"], OK, "written"),
        (["checkpoint", "{db}", "--out", "{nowhere}"], EXIT_INVALID, "no such folder"),
        (
            ["checkpoint", "{db}", "--out", "{out}", "--key-file", "{bad_keys}"],
            EXIT_INVALID,
            "keys",
        ),
        (["checkpoint", "{missing}", "--out", "{out}"], EXIT_STORE, "StoreUnavailable"),
        (["checkpoint", SECRET_URL, "--out", "{out}"], EXIT_STORE, "StoreUnavailable"),
        (["checkpoint", "{db}"], USAGE, "missing --out"),
    ],
    "report": [
        (["report", "{db}", "--organisation", "RXY"], OK, "tables"),
        (["report", "{db}", "--organisation", "RXY", "--json"], OK, "JSON"),
        (["report", "{db}", "--organisation", "RXY", "--plan", "{plan}"], OK, "under a plan"),
        (["report", "{db}"], EXIT_INVALID, "InvalidInput: no organisation"),
        (["report", "{db}", "--organisation", "RXY", "--now", "soon"], EXIT_INVALID, "bad --now"),
        (["report", "{db}", "--organisation", "RXY", "--plan", "{bad_plan}"], EXIT_INVALID, "plan"),
        (["report", "{missing}", "--organisation", "RXY"], EXIT_STORE, "StoreUnavailable"),
        (["report", "{unmigrated}", "--organisation", "RXY"], EXIT_STORE, "SchemaVersionError"),
        (["report", SECRET_URL, "--organisation", "RXY"], EXIT_STORE, "StoreUnavailable"),
        (["report", "{db}", "--within", "-1"], USAGE, "out of range"),
    ],
    "lessons": [
        (["lessons", "{db}", "--organisation", "RXY", "--since", "2026-01-01"], OK, "table"),
        (["lessons", "{db}", "--organisation", "RXY", "--since", "2026-01-01", "--json"], OK, ""),
        (["lessons", "{db}", "--organisation", "RXY"], EXIT_INVALID, "InvalidInput: --since"),
        (["lessons", "{db}", "--since", "2026-01-01"], EXIT_INVALID, "no organisation"),
        (
            ["lessons", "{missing}", "--organisation", "RXY", "--since", "2026-01-01"],
            EXIT_STORE,
            "StoreUnavailable",
        ),
        (
            ["lessons", SECRET_URL, "--organisation", "RXY", "--since", "2026-01-01"],
            EXIT_STORE,
            "StoreUnavailable",
        ),
        (["lessons", "{db}", "--no-such-option"], USAGE, "unknown option"),
    ],
    "workflows": [(["workflows"], OK, "the list"), (["workflows", "x"], USAGE, "extra argument")],
    "diagram": [
        (["diagram", "psii"], OK, "Mermaid"),
        (["diagram", "psii", "--format", "table"], OK, "table"),
        (["diagram", "no_such_workflow"], USAGE, "unknown workflow"),
        (["diagram", "psii", "--format", "svg"], USAGE, "unknown format"),
    ],
    "sweep": [
        (["sweep", "{db}", "--once"], OK, "one sweep"),
        (["sweep", "{db}", "--once", "--plan", "{plan}"], OK, "under a plan"),
        (["sweep", "{db}", "--once", "--plan", "{bad_plan}"], EXIT_INVALID, "PlanError"),
        (["sweep", "{db}", "--once", "--key-file", "{bad_keys}"], EXIT_INVALID, "AuditKeyError"),
        (["sweep", "{unmigrated}", "--once"], EXIT_STORE, "SchemaVersionError"),
        (["sweep", SECRET_URL, "--once"], EXIT_STORE, "StoreUnavailable"),
        (["sweep", "{db}", "--once", "--thematic-reviews"], USAGE, "needs --plan"),
    ],
    "plan": [([], USAGE, "no subcommand")],
    "plan check": [
        (["plan", "check", "{plan}"], OK, "valid"),
        (["plan", "check", "{plan}", "--json"], OK, "valid, JSON"),
        (["plan", "check", "{bad_plan}"], EXIT_INVALID, "problems"),
        (["plan", "check", "{missing}"], EXIT_INVALID, "cannot be read"),
        (["plan", "check"], USAGE, "missing FILE"),
    ],
    "plan schema": [(["plan", "schema"], OK, "the schema"), (["plan", "schema", "x"], USAGE, "")],
    "demo": [
        (["demo", "--db", "{fresh}"], OK, "the checkout's demo succeeds"),
        (["demo", "--db", "{fresh}"], EXIT_INVALID, "an installed copy: no demo script"),
        (["demo", "--nope"], USAGE, "unknown option"),
    ],
}


def _paths(command: click.Command, prefix: str = "") -> list[str]:
    """Every command and group under ``command``, by its path ("" for the root)."""
    found = [prefix]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _paths(sub, f"{prefix} {name}".strip())
    return found


def test_every_command_has_rows() -> None:
    """Each command and group of the CLI has rows, and no row names a command that is gone."""
    assert sorted(_paths(main)) == sorted(ROWS)


def test_every_command_has_its_success_code() -> None:
    """Each command (not a group) has at least one row that exits 0."""
    groups = {"", "db", "plan"}
    for path, rows in ROWS.items():
        if path not in groups:
            assert OK in {code for _, code, _ in rows}, path


@pytest.fixture(name="places")
def _places(tmp_path: Path) -> dict[str, str]:
    """Files for every placeholder: databases good and bad, plans, keys, checkpoints."""
    db = tmp_path / "cases.sqlite3"
    store = SqlStore.open(str(db), migrate=True)
    try:
        pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], "RXY")
        Engine(store, clock=ManualClock()).open(
            "psii", actor=pss, case_id="PSII-1", payload={"incident_ids": ["INC-1"]}
        )
    finally:
        store.dispose()
    broken = tmp_path / "broken.sqlite3"
    _copy_sqlite(db, broken)
    with sqlite3.connect(broken) as connection:
        connection.execute("UPDATE audit_entries SET actor_id = 'pss-99' WHERE sequence = 1")
    newer = tmp_path / "newer.sqlite3"
    _copy_sqlite(db, newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE psirf_flow_alembic_version SET version_num = '9999_future'")
    unmigrated = tmp_path / "unmigrated.sqlite3"
    sqlite3.connect(unmigrated).close()
    more = tmp_path / "more.sqlite3"  # one more case than the database: it reads as deleted
    _copy_sqlite(db, more)
    store = SqlStore.open(str(more))
    try:
        Engine(store, clock=ManualClock()).open(
            "psii", actor=pss, case_id="PSII-2", payload={"incident_ids": ["INC-2"]}
        )
    finally:
        store.dispose()
    stale = tmp_path / "stale-checkpoint.json"
    made = CliRunner().invoke(main, ["checkpoint", str(more), "--out", str(stale)])
    assert made.exit_code == 0, made.output
    files = {
        "bad_keys": "{}",
        "bad_checkpoint": "not a checkpoint",
        "bad_plan": "not = [valid",
    }
    places = {"db": str(db), "broken": str(broken), "newer": str(newer)}
    places |= {"unmigrated": str(unmigrated), "stale_checkpoint": str(stale)}
    for name, text in files.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        places[name] = str(path)
    places |= {
        "fresh": str(tmp_path / "fresh.sqlite3"),
        "missing": str(tmp_path / "missing.sqlite3"),
        "out": str(tmp_path / "cp.json"),
        "nowhere": str(tmp_path / "no-such-folder" / "cp.json"),
        "plan": str(EXAMPLE_PLAN),
    }
    return places


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as old, sqlite3.connect(target) as new:
        old.backup(new)


_CASES = [
    pytest.param(path, args, code, id=f"{path or 'psirf-flow'}-{n}-{code}")
    for path, rows in ROWS.items()
    for n, (args, code, _why) in enumerate(rows)
]


@pytest.mark.parametrize(("path", "args", "code"), _CASES)
def test_exit_code(
    places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    args: list[str],
    code: int,
) -> None:
    """The command exits with the code its row documents, and never shows a password."""
    if path == "demo":  # the demo's own script is not run here: its exit code is passed on
        monkeypatch.setattr(
            subprocess, "run", lambda argv, **_: subprocess.CompletedProcess(argv, 0)
        )
        if code == EXIT_INVALID:
            monkeypatch.setattr(cli, "_demo_script", lambda: None)

    result = CliRunner().invoke(main, [arg.format(**places) for arg in args])

    assert result.exit_code == code, result.output
    assert "s3cret-pw" not in result.output
    if code not in {OK, EXIT_BROKEN, USAGE} and path not in {"plan check", "demo"}:
        assert result.stderr.startswith(("error: ", "store error: ", "invalid: ", "refused: "))


def _documented_codes() -> dict[str, set[int]]:
    """The "Exit codes by command" table of the CLI page: command to its codes."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("### Exit codes by command", 1)[1].split("\n## ", 1)[0]
    found: dict[str, set[int]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `psirf-flow ?([a-z ]*)` \| ([0-9, ]+) \|", line)
        if match:
            found[match[1].strip()] = {int(code) for code in match[2].split(",")}
    return found


def test_documented_per_command() -> None:
    """The page's per-command table lists exactly the codes each command's rows exercise."""
    assert _documented_codes() == {
        path: {code for _, code, _ in rows} for path, rows in ROWS.items()
    }


def _section(path: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    heading = f"## `psirf-flow {path}".rstrip()
    assert heading in text, path
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("path", [p for p in ROWS if p], ids=str)
def test_every_command_and_option_is_documented(path: str) -> None:
    """Each command has a section on the page naming every one of its options."""
    command: click.Command = main
    for name in path.split():
        assert isinstance(command, click.Group)
        command = command.commands[name]
    if isinstance(command, click.Group):
        return
    section = _section(path)
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            assert any(f"{option}" in section for option in parameter.opts), (path, parameter)
