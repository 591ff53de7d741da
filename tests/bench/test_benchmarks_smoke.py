"""Smoke tests for ``benchmarks/``: every benchmark runs at a tiny size and reports well.

These prove the scripts work and that their results are well formed. They never look at how
fast anything was: timings are read from ``benchmarks/run.py``, not asserted.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest


BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(name="bench", scope="module")
def _bench() -> Iterator[SimpleNamespace]:
    """The benchmark modules, imported from the ``benchmarks`` folder."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        modules: dict[str, ModuleType] = {
            name: importlib.import_module(name)
            for name in (
                "_harness",
                "_workload",
                "bench_inmemory",
                "bench_persist",
                "bench_sweep",
                "bench_verify",
                "run",
            )
        }
        yield SimpleNamespace(**{name.lstrip("_"): m for name, m in modules.items()})
    finally:
        sys.path.remove(str(BENCH_DIR))


def _check_well_formed(result: Any, expected_rows: set[str], runs: int) -> None:
    rows = {row.key: row for row in result.rows}
    assert expected_rows <= set(rows)
    for key in expected_rows:
        assert len(rows[key].runs) == runs, key
        assert all(math.isfinite(v) and v > 0 for v in rows[key].runs), key
    for ratio in result.ratios:
        assert math.isfinite(ratio.value), ratio.label
    json.dumps(result.as_json())


class TestInMemoryBenchmarks:
    """The in-memory benchmarks."""

    def test_throughput_measures_fire_decide_and_the_anchors(self, bench: SimpleNamespace) -> None:
        """The throughput benchmark times fire, decide and the bare machines, with ratios."""
        result = bench.bench_inmemory.throughput(cases=2, reps=2)
        expected = {"fire", "decide", "machine", "transitions"}
        if bench.workload.statemachine_version() is not None:
            expected.add("statemachine")
        _check_well_formed(result, expected, runs=2)
        labels = {r.label: r for r in result.ratios}
        assert labels["fire / transitions"].target_text == "≤ 3x"

    def test_memory_counts_bytes_per_case_for_store_cases_and_anchors(
        self, bench: SimpleNamespace
    ) -> None:
        """The memory benchmark reports bytes per case, the store holding more than cases."""
        result = bench.bench_inmemory.memory(cases=20, anchor_cases=4, reps=1)
        expected = {"store", "case_only", "models", "transitions_shared", "transitions_per_case"}
        _check_well_formed(result, expected, runs=1)
        assert result.row("store").median > result.row("case_only").median
        assert any(r.divisor == 2048.0 and r.target == 1.0 for r in result.ratios)

    def test_opening_times_two_sizes_and_their_ratio(self, bench: SimpleNamespace) -> None:
        """The opening benchmark times N and 10·N opens and reports their ratio."""
        result = bench.bench_inmemory.opening(small=10, anchor_small=3, reps=1)
        _check_well_formed(result, {"open_small", "open_large", "add_small", "add_large"}, 1)
        assert result.params["large"] == 100
        assert [r.numerator for r in result.ratios] == ["open_large", "add_large"]


class TestPersistBenchmarks:
    """The persisted benchmarks."""

    def test_sqlite_runs_fire_and_the_raw_anchors(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """The SQLite benchmark runs fire and raw sqlite3 at both durabilities and checks rows."""
        result = bench.bench_persist.sqlite(cases=3, transitions=7, reps=1, data_dir=tmp_path)
        assert result.skipped == []
        keys = {f"{kind}_{d}" for kind in ("fire", "raw", "rmw") for d in ("full", "normal")}
        _check_well_formed(result, keys, runs=1)
        assert {r.label for r in result.ratios if r.target == 3.0} == {
            "fire / raw sqlite3 (full)",
            "fire / raw sqlite3 (normal)",
        }

    @pytest.mark.postgres
    def test_postgres_runs_fire_and_the_one_round_trip_anchor(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The PostgreSQL benchmark runs in a database of its own and drops it afterwards."""
        url = os.environ["PSIRF_FLOW_TEST_PG_URL"]
        monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, url)
        result = bench.bench_persist.postgres(cases=2, transitions=4, reps=1)
        assert result.skipped == []
        _check_well_formed(result, {"fire_full", "raw_full", "fire_normal", "raw_normal"}, 1)
        assert result.params["round_trip_us"] > 0

    def test_postgres_is_skipped_with_a_reason_when_unreachable(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unreachable PostgreSQL server is reported as skipped, with the reason."""
        monkeypatch.setenv(
            bench.bench_persist.PG_URL_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none"
        )
        result = bench.bench_persist.postgres(cases=2, transitions=4, reps=1)
        assert result.rows == []
        assert len(result.skipped) == 1
        assert result.skipped[0].startswith("PostgreSQL: cannot reach")


class TestSweepBenchmark:
    """The sweep among many idle open cases."""

    def test_sweep_fires_every_due_tier_at_both_sizes_on_sqlite(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """Each timed SQLite sweep fires all the due tiers; the anchor and ratios are there."""
        result = bench.bench_sweep.sweep(
            idle_small=30, idle_large=300, due=20, reps=2, data_dir=tmp_path, backends=("sqlite",)
        )
        assert result.skipped == []
        keys = {f"{k}_sqlite_{s}" for k in ("sweep", "raw") for s in ("small", "large")}
        _check_well_formed(result, keys, runs=2)
        assert result.params["fired_sqlite_small"] == [20, 20]
        assert result.params["fired_sqlite_large"] == [20, 20]
        targets = [r for r in result.ratios if r.target == 2.0]
        assert [r.label for r in targets] == ["sweep 300 / 30 (SQLite)"]
        assert list(tmp_path.iterdir()) == []

    def test_sweep_statements_read_no_whole_table_on_sqlite(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """Every statement a SQLite sweep sends is explained, and none scans a big table."""
        result = bench.bench_sweep.sweep(
            idle_small=10, idle_large=40, due=3, reps=1, data_dir=tmp_path, backends=("sqlite",)
        )
        plans = result.plans["sqlite"]
        claim = [p for p in plans if "due_tiers" in p["statement"]]
        assert len(claim) == 1
        assert any("ix_escalations_status_fire_at" in line for line in claim[0]["plan"])
        assert [p["statement"] for p in plans if p["scans"]] == []

    @pytest.mark.postgres
    def test_sweep_fires_every_due_tier_on_postgres(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The PostgreSQL sweep runs in databases of its own and fires all the due tiers."""
        monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, os.environ["PSIRF_FLOW_TEST_PG_URL"])
        result = bench.bench_sweep.sweep(
            idle_small=20, idle_large=200, due=20, reps=1, backends=("postgres",)
        )
        assert result.skipped == []
        keys = {f"{k}_postgres_{s}" for k in ("sweep", "raw") for s in ("small", "large")}
        _check_well_formed(result, keys, runs=1)
        assert result.params["fired_postgres_small"] == [20]
        assert result.params["fired_postgres_large"] == [20]
        assert result.plans["postgres"]

    def test_an_unreachable_postgres_is_skipped_with_a_reason(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unreachable PostgreSQL server is reported as skipped, and nothing is timed."""
        monkeypatch.setenv(
            bench.bench_persist.PG_URL_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none"
        )
        result = bench.bench_sweep.sweep(idle_small=5, idle_large=50, due=2, backends=("postgres",))
        assert result.rows == []
        assert [s.split(":")[0] for s in result.skipped] == ["PostgreSQL"]


class TestVerifyBenchmark:
    """Verification of one long trail."""

    def test_verify_times_every_reader_and_the_anchors(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """Engine.verify (memory, SQLite), verify_chain and both anchors run at two sizes."""
        result = bench.bench_verify.verify(
            small=6, large=60, reps=2, data_dir=tmp_path, postgres=False
        )
        kinds = ("memory", "sqlite", "chain", "sha", "sqlite_select")
        _check_well_formed(result, {f"{k}_{s}" for k in kinds for s in ("small", "large")}, 2)
        assert "60 entries" in result.row("sqlite_large").label
        linear = {r.label: r.target for r in result.ratios if r.target is not None}
        assert linear == {f"{k} 60 / 6": 12.0 for k in ("memory", "sqlite", "chain")}

    @pytest.mark.postgres
    def test_verify_reads_from_postgres(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """With a server, Engine.verify and the raw SELECT are timed on PostgreSQL too."""
        monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, os.environ["PSIRF_FLOW_TEST_PG_URL"])
        result = bench.bench_verify.verify(small=5, large=50, reps=1, data_dir=tmp_path)
        assert result.skipped == []
        keys = {f"{k}_{s}" for k in ("postgres", "postgres_select") for s in ("small", "large")}
        _check_well_formed(result, keys, runs=1)


class TestHarness:
    """Ratios and figures."""

    @pytest.mark.parametrize(
        ("value", "op", "target", "met"),
        [
            (2.0, "<=", 3.0, True),
            (3.0, "<=", 3.0, True),
            (3.5, "<=", 3.0, False),
            (0.6, ">=", 0.5, True),
            (0.4, ">=", 0.5, False),
            (1.0, "<=", None, None),
            (math.nan, "<=", 3.0, None),
        ],
        ids=["under", "equal", "over", "rate-above", "rate-below", "no-target", "not-measured"],
    )
    def test_ratio_verdict(
        self, bench: SimpleNamespace, value: float, op: str, target: float | None, met: bool | None
    ) -> None:
        """A ratio is met, missed, or has no verdict, by its operator and target."""
        ratio = bench.harness.Ratio("r", "a", "b", target, op, "t", value)
        assert ratio.met is met

    def test_ratio_divides_medians_of_the_same_run(self, bench: SimpleNamespace) -> None:
        """A ratio divides the medians of two rows; a missing row adds no ratio."""
        h = bench.harness
        result = h.Result(
            "n",
            "t",
            rows=[h.Row("a", "A", "s", [1.0, 9.0, 3.0]), h.Row("b", "B", "s", [2.0, 1.0, 0.5])],
        )
        result.add_ratio(h.Ratio("a / b", "a", "b"))
        result.add_ratio(h.Ratio("a / missing", "a", "missing"))
        result.add_ratio(h.Ratio("a / 2", "a", "", divisor=2.0))
        assert [(r.label, r.value) for r in result.ratios] == [("a / b", 3.0), ("a / 2", 1.5)]


class TestRunner:
    """The command-line runner."""

    def test_run_writes_one_json_per_benchmark_with_environment(
        self, bench: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run.py prints tables and ratios and writes JSON with the environment and runs."""
        code = bench.run.main(
            [
                "--smoke",
                "--only",
                "throughput,sqlite",
                "--reps",
                "1",
                "--out",
                str(tmp_path),
                "--data-dir",
                str(tmp_path / "data"),
            ]
        )
        assert code == 0
        printed = capsys.readouterr().out
        assert "fire / transitions = " in printed
        assert "Ratios against the architecture targets" in printed
        files = sorted(p.name for p in tmp_path.glob("*.json"))
        assert files == ["inmemory_throughput-smoke.json", "persist_sqlite-smoke.json"]
        saved = json.loads((tmp_path / "inmemory_throughput-smoke.json").read_text())
        assert saved["environment"]["cpu_count"] >= 1
        assert saved["environment"]["packages"]["transitions"]
        assert saved["settings"]["mode"] == "smoke"
        assert all(len(row["runs"]) == 1 for row in saved["results"][0]["rows"])

    def test_run_refuses_an_unknown_benchmark(
        self, bench: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run.py names an unknown benchmark and returns 2 without running anything."""
        assert bench.run.main(["--only", "nope", "--out", str(tmp_path)]) == 2
        assert "unknown benchmark(s): nope" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []
