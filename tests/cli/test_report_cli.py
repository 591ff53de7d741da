"""``psirf-flow report``: overdue, due-soon, candour and safety-action figures for boards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.core.test_reports import EXAMPLE_PLAN, NOW, _seed

from psirf_flow import Engine, InMemoryStore
from psirf_flow.cli import EXIT_INVALID, EXIT_STORE, main
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


AT = ["--now", "2026-12-29T10:00:00+00:00"]


class _Disposable(InMemoryStore):
    """An in-memory store the command can dispose of like a SQL one."""

    def dispose(self) -> None:
        """Nothing to release."""


@pytest.fixture(name="url", params=["memory", "sqlite"])
def _url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database holding the scenario of the reports tests (RX1, RX2, RX3 at NOW)."""
    if request.param == "memory":
        store = _Disposable()
        _seed(Engine(store, clock=ManualClock(NOW)))
        monkeypatch.setattr(SqlStore, "open", lambda *_a, **_k: store)
        return "memory"
    path = str(tmp_path / "cases.sqlite3")
    sql = SqlStore.open(path, migrate=True)
    try:
        _seed(Engine(sql, clock=ManualClock(NOW)))
    finally:
        sql.dispose()
    return path


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


def _json(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, ["report", *args, "--json", *AT])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_report_for_one_organisation(runner: CliRunner, url: str) -> None:
    """The JSON document has stable keys and RX1's figures only."""
    document = _json(runner, url, "--organisation", "RX1", "--within", "1")

    assert sorted(document) == [
        "candour_timeliness",
        "due_soon",
        "generated_at",
        "organisations",
        "overdue",
        "safety_actions",
        "summary",
    ]
    assert document["generated_at"] == "2026-12-29T10:00:00+00:00"
    assert document["organisations"] == ["RX1"]
    assert document["overdue"][1] == {
        "case_id": "psii-a",
        "organisation": "RX1",
        "workflow": "psii",
        "kind": "response_target",
        "cycle": 1,
        "status": "open",
        "owner": "lead-1",
        "due_date": "2026-12-23",
        "due_at": "2026-12-24T00:00:00+00:00",
        "tiers_fired": 2,
        "overdue": True,
        "days_overdue": 2,
    }
    assert [(i["case_id"], i["kind"]) for i in document["overdue"]] == [
        ("psii-b", "response_hard_cap"),
        ("psii-a", "response_target"),
        ("psii-c", "triage_review"),
    ]
    assert document["overdue"][2]["due_date"] is None
    assert document["due_soon"]["within_working_days"] == 1
    assert [i["kind"] for i in document["due_soon"]["items"]] == ["safety_action_due"]
    assert document["candour_timeliness"]["since"] == "2025-12-29T10:00:00+00:00"
    assert document["candour_timeliness"]["until"] == "2026-12-29T10:00:00+00:00"
    assert document["candour_timeliness"]["rows"][0] == {
        "organisation": "RX1",
        "kind": "candour_notification",
        "due": 2,
        "met_on_time": 1,
        "met_late": 1,
        "open_overdue": 0,
        "open_not_due": 0,
        "cleared": 0,
    }
    assert [(i["case_id"], i["overdue"]) for i in document["safety_actions"]] == [("psii-c", False)]


def test_only_named_organisations_are_reported(runner: CliRunner, url: str) -> None:
    """Two named organisations: both appear; the third, unnamed, never does."""
    document = _json(runner, url, "--organisation", "RX2", "--organisation", "RX1")

    assert document["organisations"] == ["RX1", "RX2"]
    seen = {i["organisation"] for i in document["overdue"] + document["safety_actions"]}
    assert seen == {"RX1", "RX2"}


def test_plan_calendar_counts_working_days(runner: CliRunner, url: str) -> None:
    """With the example plan (closed 29 to 31 December), Tue 29 Dec is not counted."""
    document = _json(runner, url, "--organisation", "RX1", "--plan", str(EXAMPLE_PLAN))

    assert [i["days_overdue"] for i in document["overdue"]] == [2, 1, 0]


def test_table_report(runner: CliRunner, url: str) -> None:
    """The text report prints aligned tables with a count per section."""
    result = runner.invoke(main, ["report", url, "--organisation", "RX1", *AT])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Report at 2026-12-29T10:00+00:00 for RX1"
    assert lines[1] == "Overdue (3)"
    header, *rows = lines[2:6]
    assert header.split() == [
        "CASE", "ORG", "WORKFLOW", "KIND", "DUE", "DAYS", "LATE", "TIERS", "STATUS",
    ]  # fmt: skip
    assert rows[1].split() == [
        "psii-a", "RX1", "psii", "response_target", "2026-12-23", "2", "2", "open",
    ]  # fmt: skip
    assert rows[2].split()[4] == "2026-12-29T07:00+00:00"
    assert len({row.index("psii") for row in rows}) == 1
    assert header.index("KIND") == rows[0].index("response_hard_cap")
    assert "Due within 5 working day(s) (1)" in lines
    assert "Candour timeliness, due 2025-12-29 to 2026-12-29 (3)" in lines
    assert "Safety actions (1)" in lines


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param([], "--organisation", id="no-organisation"),
        pytest.param(["--organisation", "RX1", "--now", "tomorrow"], "--now", id="bad-now"),
        pytest.param(
            ["--organisation", "RX1", "--now", "2026-12-29T10:00:00"], "--now", id="naive-now"
        ),
        pytest.param(
            ["--organisation", "RX1", "--since", "2027-01-01T00:00:00+00:00", *AT],
            "--until",
            id="empty-period",
        ),
    ],
)
def test_refused_options_are_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], words: str
) -> None:
    """A refused option exits 3 with one line naming it and no traceback."""
    result = runner.invoke(main, ["report", str(tmp_path / "x.sqlite3"), *args])

    assert result.exit_code == EXIT_INVALID
    assert result.output.startswith("error: ")
    assert words in result.output
    assert len(result.output.splitlines()) == 1


def test_broken_plan_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    """A plan with problems exits 3 with one line pointing at ``plan check``."""
    broken = tmp_path / "plan.toml"
    broken.write_text("[[priorities]]\nid = 3\n", encoding="utf-8")

    result = runner.invoke(
        main,
        ["report", str(tmp_path / "x.sqlite3"), "--organisation", "RX1", "--plan", str(broken)],
    )

    assert result.exit_code == EXIT_INVALID
    assert "plan check" in result.output
    assert len(result.output.splitlines()) == 1


def test_missing_database_is_a_store_error(runner: CliRunner, tmp_path: Path) -> None:
    """A SQLite file that does not exist exits 4 and is not created."""
    missing = tmp_path / "none.sqlite3"

    result = runner.invoke(main, ["report", str(missing), "--organisation", "RX1", *AT])

    assert result.exit_code == EXIT_STORE
    assert result.output.startswith("store error: ")
    assert not missing.exists()


@pytest.fixture(name="empty_db")
def _empty_db(tmp_path: Path) -> str:
    """A migrated SQLite file with no cases."""
    path = str(tmp_path / "empty.sqlite3")
    SqlStore.open(path, migrate=True).dispose()
    return path


def test_empty_database_reports_none(runner: CliRunner, empty_db: str) -> None:
    """A database with no deadlines prints every list with none and a summary of zeros."""
    result = runner.invoke(main, ["report", empty_db, "--organisation", "RX1", *AT])

    assert result.exit_code == 0, result.output
    assert result.output.count("  none") == 5
    lines = result.output.splitlines()
    row = lines[lines.index("Oversight summary, 2025-12-29 to 2026-12-29 (1)") + 2]
    assert row.split() == ["RX1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "-"]


def test_json_summary_per_organisation(runner: CliRunner, url: str) -> None:
    """The summary has one object of counts per named organisation, for the period."""
    document = _json(runner, url, "--organisation", "RX1", "--organisation", "RX2")

    summary = document["summary"]
    assert (summary["since"], summary["until"]) == (
        "2025-12-29T10:00:00+00:00",
        "2026-12-29T10:00:00+00:00",
    )
    rx1, rx2 = summary["organisations"]
    assert (rx1["organisation"], rx2["organisation"]) == ("RX1", "RX2")
    assert rx1["open_cases"] == [
        {"lifecycle": "learning_response", "workflow": "psii", "state": "commissioned", "cases": 3}
    ]
    assert (rx1["overdue"], rx1["safety_actions_overdue"], rx1["reserve"]) == (3, 0, None)
    assert rx1["candour"] == document["candour_timeliness"]["rows"][:3]
