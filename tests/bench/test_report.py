"""Tests of ``benchmarks/report.py``: the performance page follows the last run's summary."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(name="modules", scope="module")
def _modules() -> Iterator[tuple[ModuleType, ModuleType]]:
    """``_harness`` and ``report``, imported from the ``benchmarks`` folder."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("_harness"), importlib.import_module("report")
    finally:
        sys.path.remove(str(BENCH_DIR))


def _summary(h: ModuleType, tmp_path: Path) -> dict[str, Any]:
    result = h.Result(
        "fake", "t", rows=[h.Row("a", "A", "µs", [6.0]), h.Row("b", "B", "µs", [2.0])]
    )
    result.add_ratio(h.Ratio("fire / anchor", "a", "b", 3.0, "<=", "≤ 3x"))
    result.params["server_version"] = "15.20"
    result.params["wall_s"] = 1.5
    entry = h.summary_entry(result, file="fake.json", settings={"mode": "default", "cases": 10})
    summary: dict[str, Any] = h.save_summary(
        tmp_path / "summary.json",
        {"fake": entry},
        registered=["fake"],
        mode="default",
        command="python benchmarks/run.py",
        elapsed=2.0,
    )
    return summary


def test_the_committed_page_is_what_the_committed_summary_gives(
    modules: tuple[ModuleType, ModuleType],
) -> None:
    """docs/explanation/performance.md is report.py's output for results/summary.json."""
    _, report = modules
    assert report.main(["--check"]) == 0, "run python benchmarks/report.py and commit the page"


def test_the_page_shows_the_table_the_machine_the_date_and_the_command(
    modules: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    """A run's page has every target with its verdict, the versions, the date and the command."""
    h, report = modules
    summary = _summary(h, tmp_path)
    page = report.render_page(summary)
    assert "| fire / anchor " in page
    assert "3.00x (6.00 µs / 2.00 µs)" in page
    assert "| met " in page
    assert f"| CPUs | {summary['environment']['cpu_count']}," in page
    assert "| PostgreSQL | 15.20 |" in page
    assert f"| SQLite | {summary['environment']['sqlite']} |" in page
    assert summary["when"][:10] in page
    assert "(`python benchmarks/run.py`)" in page
    assert "make bench " in page
    assert "| `fake` |" in page
    assert "cases=10" in page


def test_without_a_run_the_page_says_so(modules: tuple[ModuleType, ModuleType]) -> None:
    """With no summary yet, the page says how to produce the figures instead of a table."""
    _, report = modules
    page = report.render_page(None)
    assert "No run of `make bench` is recorded yet" in page
    assert "| measure " not in page


def test_check_fails_on_a_stale_page_and_writing_fixes_it(
    modules: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    """--check returns 1 when the page differs from the summary; writing makes it pass."""
    h, report = modules
    _summary(h, tmp_path)
    args = ["--summary", str(tmp_path / "summary.json"), "--page", str(tmp_path / "page.md")]
    assert report.main([*args, "--check"]) == 1
    assert report.main(args) == 0
    assert report.main([*args, "--check"]) == 0
