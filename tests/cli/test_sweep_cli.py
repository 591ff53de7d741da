"""``psirf-flow sweep URL``: one sweep or a loop stopped by a signal, with a one-line summary."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from psirf_flow import Actor, Engine, Role, _timekeeping
from psirf_flow.cli import EXIT_STORE, _stop_on_signals, main
from psirf_flow.domain import Deadline, Escalation
from psirf_flow.schedule import ScheduleChange
from psirf_flow.store.sql import SqlStore
from psirf_flow.sweeper import Sweeper
from psirf_flow.testing import ManualClock


ORG = "RX1"
LONG_AGO = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)


def _one_due_tier(**arguments: Any) -> ScheduleChange:
    after = arguments["after"]
    if arguments["trigger"] != "open":
        return ScheduleChange()
    due_at = LONG_AGO + timedelta(days=1)
    return ScheduleChange(
        (
            Deadline(
                case_id=after.id,
                kind="response_target",
                organisation=ORG,
                workflow=after.workflow,
                started_at=LONG_AGO,
                due_at=due_at,
            ),
        ),
        (
            Escalation(
                case_id=after.id,
                kind="response_target",
                organisation=ORG,
                tier=0,
                stage="breach",
                fire_at=due_at,
                notify=("patient_safety_specialist",),
            ),
        ),
    )


@pytest.fixture(name="db")
def _db(tmp_path: Path) -> str:
    path = str(tmp_path / "sweep.sqlite3")
    SqlStore.open(path, migrate=True).dispose()
    return path


def _seed_due_tier(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_timekeeping, "plan_deadlines", _one_due_tier)
    store = SqlStore.open(db)
    try:
        engine = Engine(store, clock=ManualClock(LONG_AGO))
        engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id="C-1")
    finally:
        store.dispose()


def test_once_on_an_empty_database(db: str) -> None:
    """With nothing due, one sweep claims nothing and says so."""
    result = CliRunner().invoke(main, ["sweep", db, "--once"])

    assert result.exit_code == 0, result.output
    assert result.output == "swept: claimed=0 fired=0 skipped=0 conflicts=0 failed=0 late_max_s=0\n"


def test_once_fires_what_is_due(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tier due long ago fires once; a second sweep finds nothing."""
    _seed_due_tier(db, monkeypatch)

    first = CliRunner().invoke(main, ["sweep", db, "--once", "--batch", "5"])
    second = CliRunner().invoke(main, ["sweep", db, "--once"])

    assert first.exit_code == 0, first.output
    assert first.output.startswith("swept: claimed=1 fired=1 skipped=0 conflicts=0 failed=0 ")
    assert second.output.startswith("swept: claimed=0 fired=0 ")
    store = SqlStore.open(db)
    try:
        triggers = [e.trigger for e in store.history("C-1")]
    finally:
        store.dispose()
    assert triggers == ["open", "escalation_fired"]


def test_the_loop_stops_on_sigterm(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --once the sweeper loops until SIGTERM, then prints its totals."""
    real = Sweeper._sweep
    sweeps: list[int] = []

    def sweep_then_signal(self: Sweeper, *args: Any) -> Any:
        sweeps.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *args)

    monkeypatch.setattr(Sweeper, "_sweep", sweep_then_signal)
    before = signal.getsignal(signal.SIGTERM)

    result = CliRunner().invoke(main, ["sweep", db, "--interval", "30"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("swept: claimed=0 fired=0 ")
    assert sweeps == [1]
    assert signal.getsignal(signal.SIGTERM) == before


def test_signals_set_the_stop_event() -> None:
    """SIGINT and SIGTERM set the stop event; the old handlers come back afterwards."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    for sig in (signal.SIGINT, signal.SIGTERM):
        stop = threading.Event()
        with _stop_on_signals(stop):
            os.kill(os.getpid(), sig)
        assert stop.is_set()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_missing_database_is_a_store_error(tmp_path: Path) -> None:
    """A SQLite file that does not exist is not created: exit code 4."""
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "none.sqlite3"), "--once"])

    assert result.exit_code == EXIT_STORE
    assert "store error" in result.output


@pytest.mark.parametrize(
    "arguments",
    [["--batch", "0"], ["--batch", "10001"], ["--interval", "0"], ["--interval", "x"]],
)
def test_bad_options_are_usage_errors(db: str, arguments: list[str]) -> None:
    """Out-of-range options are refused before the database is touched."""
    result = CliRunner().invoke(main, ["sweep", db, "--once", *arguments])

    assert result.exit_code == 2
