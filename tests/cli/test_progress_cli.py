"""Progress bars: drawn on a terminal's standard error, never when piped or with --json."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.cli.test_report_cli import AT
from tests.cli.test_sweep_cli import LONG_AGO, _seed_due_tier

from psirf_flow import Actor, Engine, Role, cli
from psirf_flow.cli import main
from psirf_flow.errors import InvalidInput
from psirf_flow.store.sql import SqlStore, upgrade
from psirf_flow.sweeper import Sweeper
from psirf_flow.testing import ManualClock


@pytest.fixture(name="db")
def _db(tmp_path: Path) -> Path:
    """A SQLite file holding one PSII of RXY."""
    path = tmp_path / "cases.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    try:
        pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], "RXY")
        Engine(store, clock=ManualClock()).open(
            "psii", actor=pss, case_id="PSII-1", payload={"incident_ids": ["INC-1"]}
        )
    finally:
        store.dispose()
    return path


@pytest.fixture(name="terminal")
def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard error counts as a terminal (CliRunner's streams never are one)."""
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)


#: Each long command, its arguments after the URL and its progress label.
LONG_COMMANDS = [
    pytest.param(["db", "upgrade"], "migrating", id="db-upgrade"),
    pytest.param(["verify"], "verifying", id="verify"),
    pytest.param(["sweep", "--once"], "sweeping", id="sweep-once"),
    pytest.param(["report", "--organisation", "RXY", *AT], "reading", id="report"),
    pytest.param(
        ["lessons", "--organisation", "RXY", "--since", "2020-01-01"], "reading", id="lessons"
    ),
]


def _argv(args: list[str], url: str) -> list[str]:
    if args[0] == "db":
        return [*args, url]
    return [args[0], url, *args[1:]]


@pytest.mark.parametrize(("args", "label"), LONG_COMMANDS)
def test_shown_when_stderr_is_a_terminal(
    db: Path, terminal: None, args: list[str], label: str
) -> None:
    """On a terminal, the command's progress goes to standard error, not its output."""
    result = CliRunner().invoke(main, _argv(args, str(db)))

    assert result.exit_code == 0, result.output
    assert label in result.stderr
    assert label not in result.stdout


@pytest.mark.parametrize(("args", "label"), LONG_COMMANDS)
def test_quiet_when_stderr_is_piped(db: Path, args: list[str], label: str) -> None:
    """Piped, standard error stays empty."""
    result = CliRunner().invoke(main, _argv(args, str(db)))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--organisation", "RXY", "--json", *AT],
        ["lessons", "--organisation", "RXY", "--since", "2020-01-01", "--json"],
    ],
)
def test_quiet_with_json_even_on_a_terminal(db: Path, terminal: None, args: list[str]) -> None:
    """--json never draws a bar, even on a terminal."""
    result = CliRunner().invoke(main, _argv(args, str(db)))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def _run_on_a_pty(db: Path) -> tuple[str, str]:
    """Run ``psirf-flow verify`` with standard error on a pseudo-terminal; (stdout, tty)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from psirf_flow.cli import main; main()", "verify", str(db)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    out, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    return out.decode(), seen.decode(errors="replace")


def test_a_real_terminal_sees_a_bar(db: Path) -> None:
    """With standard error on a pseudo-terminal, verify draws a bar there, not on stdout."""
    out, tty = _run_on_a_pty(db)

    assert "verifying" in tty
    assert "[####" in tty
    assert "1/1" in tty
    assert out == "1 case(s) verified, 0 broken\n"


def test_a_real_pipe_sees_nothing(db: Path) -> None:
    """With standard error piped, verify writes nothing to it."""
    done = subprocess.run(
        [sys.executable, "-c", "from psirf_flow.cli import main; main()", "verify", str(db)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )

    assert done.returncode == 0
    assert done.stderr == b""
    assert done.stdout == b"1 case(s) verified, 0 broken\n"


def test_sweep_reports_progress_per_tier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeper.sweep tells progress what it claimed, then each tier handled."""
    path = str(tmp_path / "sweep.sqlite3")
    SqlStore.open(path, migrate=True).dispose()
    _seed_due_tier(path, monkeypatch)
    calls: list[tuple[int, int]] = []
    store = SqlStore.open(path)
    try:
        engine = Engine(store, clock=ManualClock(LONG_AGO + timedelta(days=2)))
        report = Sweeper(engine, batch=5).sweep(progress=lambda *call: calls.append(call))
    finally:
        store.dispose()

    assert report.fired == 1
    assert calls == [(0, 1), (1, 1)]


def test_upgrade_reports_each_migration(tmp_path: Path) -> None:
    """Upgrade tells progress the migrations to apply, then each one; none when current."""
    path = str(tmp_path / "fresh.sqlite3")
    first: list[tuple[int, int]] = []
    again: list[tuple[int, int]] = []

    upgrade(path, progress=lambda *call: first.append(call))
    upgrade(path, progress=lambda *call: again.append(call))

    total = len(first) - 1
    assert total >= 6
    assert first == [(done, total) for done in range(total + 1)]
    assert again == [(0, 0)]


def test_upgrade_refuses_a_progress_it_cannot_call(tmp_path: Path) -> None:
    """A progress that is not callable is refused before the database is touched."""
    path = tmp_path / "fresh.sqlite3"

    with pytest.raises(InvalidInput):
        upgrade(str(path), progress=3)  # type: ignore[arg-type]
    assert not path.exists()
