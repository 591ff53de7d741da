"""Tests of the benchmark plumbing: the harness's checks and summary, and the runner.

Running every benchmark at a tiny size is ``make bench-smoke`` (``run.py --smoke``, part of
``make test``), which checks each result with ``_harness.problems``; these tests prove that
check and the runner's exit status on fake benchmarks, so no benchmark runs twice. They
never look at how fast anything was.
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


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner reads CI and PSIRF_FLOW_REQUIRE_PG: each test sets them itself."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PSIRF_FLOW_REQUIRE_PG", raising=False)


def _check_well_formed(result: Any, expected_rows: set[str], runs: int) -> None:
    """Assert ``result`` has ``expected_rows``, ``runs`` repetitions each, and no problem."""
    rows = {row.key: row for row in result.rows}
    assert expected_rows <= set(rows)
    for key in expected_rows:
        assert len(rows[key].runs) == runs, key
    assert sys.modules["_harness"].problems(result) == []


def _result(h: ModuleType, *, a: list[float], b: list[float], target: float = 3.0) -> Any:
    result = h.Result("fake_result", "t", rows=[h.Row("a", "A", "µs", a), h.Row("b", "B", "µs", b)])
    result.add_ratio(h.Ratio("a / b", "a", "b", target, "<=", f"≤ {target:g}x"))
    return result


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
        assert result.params["fire_statements_per_command"]["UPDATE"] == 1.0

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
        assert result.params["fire_statements_per_command"]["WITH"] > 0

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
        assert [r.label for r in result.unmeasured] == ["a / missing"]

    def test_a_well_formed_result_has_no_problems(self, bench: SimpleNamespace) -> None:
        """Finite positive rows and a computed ratio are well formed."""
        _check_well_formed(_result(bench.harness, a=[2.0, 3.0], b=[1.0, 1.0]), {"a", "b"}, 2)

    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ([math.nan], [1.0], "not a finite figure"),
            ([math.inf], [1.0], "not a finite figure"),
            ([-1.0], [1.0], "not a finite figure"),
            ([1.0], [0.0], "median is not positive"),
            ([1.0], [], "never measured"),
        ],
        ids=["nan", "infinite", "negative", "zero-divisor", "no-runs"],
    )
    def test_an_ill_formed_figure_is_a_problem(
        self, bench: SimpleNamespace, a: list[float], b: list[float], expected: str
    ) -> None:
        """A figure that is not finite, negative, never measured or divided by zero is named."""
        found = bench.harness.problems(_result(bench.harness, a=a, b=b))
        assert any(expected in p for p in found), found

    def test_a_zero_count_outside_ratios_is_well_formed(self, bench: SimpleNamespace) -> None:
        """A count no ratio divides (conflicts on disjoint cases) may be zero."""
        h = bench.harness
        result = _result(h, a=[2.0], b=[1.0])
        result.rows.append(h.Row("conflicts", "conflicts", "count", [0.0]))
        assert h.problems(result) == []

    def test_a_result_that_measured_nothing_is_a_problem(self, bench: SimpleNamespace) -> None:
        """A benchmark returning no figure and no reason is ill formed."""
        assert bench.harness.problems(bench.harness.Result("n", "t")) == ["measured nothing"]

    def test_a_skip_is_tolerated_unless_strict(self, bench: SimpleNamespace) -> None:
        """A part skipped with a reason is well formed, except when every part must run."""
        h = bench.harness
        result = _result(h, a=[2.0], b=[])
        result.skipped.append("PostgreSQL: cannot reach the server")
        assert h.problems(result) == []
        strict = h.problems(result, strict=True)
        assert "skipped: PostgreSQL: cannot reach the server" in strict
        assert any("never measured" in p for p in strict)
        assert any("not computed" in p for p in strict)


class TestSummary:
    """The table of every target and results/summary.json."""

    def test_target_rows_show_figures_and_unmeasured_targets(self, bench: SimpleNamespace) -> None:
        """Each ratio with a target is a row; one whose rows were not measured says so."""
        h = bench.harness
        result = _result(h, a=[6.0], b=[2.0])
        result.add_ratio(h.Ratio("a / gone", "a", "gone", 1.0, "<=", "< 1x"))
        result.add_ratio(h.Ratio("no target", "a", "b"))
        rows = h.target_rows(result)
        assert [(r["measure"], r["target"], h.verdict(r)) for r in rows] == [
            ("a / b", "≤ 3x", "met"),
            ("a / gone", "< 1x", "not measured"),
        ]
        assert h.figure_text(rows[0]) == "3.00x (6.00 µs / 2.00 µs)"
        assert h.figure_text(rows[1]) == "-"

    def test_summary_table_lists_targets_skips_and_failures(self, bench: SimpleNamespace) -> None:
        """The closing table has one line per target, then every skip and failure."""
        h = bench.harness
        entry = h.summary_entry(_result(h, a=[9.0], b=[2.0]), file="f.json", settings={})
        entry["skipped"] = ["no server"]
        table = h.summary_table(
            {
                "fake": entry,
                "boom": {**entry, "targets": [], "skipped": [], "error": "RuntimeError: x"},
            }
        )
        assert "| a / b " in table
        assert "MISSED" in table
        assert "- fake: skipped: no server" in table
        assert "- boom: FAILED: RuntimeError: x" in table

    def test_summary_keeps_other_benchmarks_of_the_same_mode(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """A partial run replaces its own entries and keeps the others; unregistered go."""
        h = bench.harness
        path = tmp_path / "summary.json"
        entry = h.summary_entry(_result(h, a=[2.0], b=[1.0]), file="f.json", settings={})

        def write(names: dict[str, Any], registered: list[str], mode: str = "default") -> Any:
            return h.save_summary(
                path, names, registered=registered, mode=mode, command="c", elapsed=1.0
            )

        write({"x": entry, "y": entry, "old": entry}, ["x", "y", "old"])
        newer = {**entry, "file": "newer.json"}
        saved = write({"y": newer}, ["x", "y"])
        assert list(saved["benchmarks"]) == ["x", "y"]
        assert saved["benchmarks"]["y"]["file"] == "newer.json"
        assert json.loads(path.read_text())["environment"]["cpu_count"] >= 1
        assert list(write({"y": newer}, ["x", "y"], mode="quick")["benchmarks"]) == ["y"]


class _Fakes:
    """Fake benchmarks registered in place of the real ones, recording their arguments."""

    def __init__(self, h: ModuleType) -> None:
        self.h = h
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.run: ModuleType | None = None

    def good(self, reps: int = 5) -> Any:
        self.calls.append(("good", {"reps": reps}))
        result = _result(self.h, a=[3.0] * reps, b=[1.0] * reps)
        result.name = "fake_good"
        return result

    def ill(self, reps: int = 5) -> Any:
        self.calls.append(("ill", {"reps": reps}))
        result = _result(self.h, a=[1.0] * reps, b=[0.0] * reps)
        result.name = "fake_ill"
        return result

    def skipping(self) -> Any:
        self.calls.append(("skipping", {}))
        result = self.h.Result("fake_skipping", "t")
        result.skipped.append("PostgreSQL: cannot reach the server")
        return result

    def heavy(self, cases: int) -> Any:
        self.calls.append(("heavy", {"cases": cases}))
        result = _result(self.h, a=[2.0], b=[1.0])
        result.name = "fake_heavy"
        return result

    def boom(self) -> Any:
        self.calls.append(("boom", {}))
        raise RuntimeError("the benchmark broke")


@pytest.fixture(name="fakes")
def _fakes(bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> _Fakes:
    """run.py's registry replaced by fakes: good, ill, skipping, boom, and a heavy one."""
    fakes = _Fakes(bench.harness)
    fakes.run = bench.run
    registry = {
        "good": fakes.good,
        "ill": fakes.ill,
        "skipping": fakes.skipping,
        "boom": fakes.boom,
        "heavy": fakes.heavy,
    }
    monkeypatch.setattr(bench.run, "BENCHMARKS", registry)
    sizes = {"heavy": {"cases": 2}}
    monkeypatch.setattr(bench.run, "SIZES", dict.fromkeys(bench.run.SIZES, sizes))
    monkeypatch.setattr(bench.run, "HEAVY", frozenset({"heavy"}))
    return fakes


class TestRunner:
    """The command-line runner."""

    def test_every_benchmark_has_sizes_in_every_mode(self, bench: SimpleNamespace) -> None:
        """Each registered benchmark names its sizes for smoke, quick, default and full."""
        assert set(bench.run.SIZES) == {"smoke", "quick", "default", "full"}
        for mode, sizes in bench.run.SIZES.items():
            assert set(sizes) == set(bench.run.BENCHMARKS), mode

    def test_run_writes_json_and_the_table_of_every_target(
        self,
        bench: SimpleNamespace,
        fakes: _Fakes,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """run.py writes one JSON per benchmark and a summary, and prints every target."""
        code = bench.run.main(["--only", "good", "--reps", "2", "--out", str(tmp_path)])
        assert code == 0
        assert fakes.calls == [("good", {"reps": 2})]
        printed = capsys.readouterr().out
        assert "### Every target" in printed
        assert "| a / b " in printed
        assert sorted(p.name for p in tmp_path.glob("*.json")) == ["fake_good.json", "summary.json"]
        saved = json.loads((tmp_path / "fake_good.json").read_text())
        assert saved["environment"]["cpu_count"] >= 1
        assert saved["settings"] == {"mode": "default", "reps": 2}
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert summary["benchmarks"]["good"]["targets"][0]["met"] is True
        assert summary["command"] == "python benchmarks/run.py --only good --reps 2"

    def test_smoke_runs_every_benchmark_once_and_fails_on_a_raise_or_ill_result(
        self,
        bench: SimpleNamespace,
        fakes: _Fakes,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """--smoke runs all, heavy included, one repetition; a raise or ill result fails it."""
        assert bench.run.main(["--smoke", "--out", str(tmp_path)]) == 1
        assert fakes.calls == [
            ("good", {"reps": 1}),
            ("ill", {"reps": 1}),
            ("skipping", {}),
            ("boom", {}),
            ("heavy", {"cases": 2}),
        ]
        err = capsys.readouterr().err
        assert "boom: raised RuntimeError: the benchmark broke" in err
        assert "ill: row 'b' is divided in a ratio but its median is not positive" in err
        assert "skipping" not in err.split("FAILED:")[1]
        summary = json.loads((tmp_path / "summary-smoke.json").read_text())
        assert summary["benchmarks"]["boom"]["error"] == "RuntimeError: the benchmark broke"

    def test_a_slow_smoke_run_warns_but_does_not_fail(
        self,
        bench: SimpleNamespace,
        fakes: _Fakes,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Over its time budget the smoke run names its slowest benchmarks and still passes."""
        monkeypatch.setattr(bench.run, "SMOKE_BUDGET_S", -1.0)
        assert bench.run.main(["--smoke", "--only", "good", "--out", str(tmp_path)]) == 0
        assert "over its -1 s budget; slowest: good" in capsys.readouterr().err

    def test_an_unchecked_run_passes_an_ill_result_but_not_a_raise(
        self, bench: SimpleNamespace, fakes: _Fakes, tmp_path: Path
    ) -> None:
        """Without --smoke or --check only a raise fails the run; --check judges results."""
        assert bench.run.main(["--only", "ill", "--out", str(tmp_path)]) == 0
        assert bench.run.main(["--only", "ill", "--check", "--out", str(tmp_path)]) == 1
        assert bench.run.main(["--only", "boom", "--out", str(tmp_path)]) == 1

    def test_the_default_selection_leaves_out_heavy_benchmarks(
        self, bench: SimpleNamespace, fakes: _Fakes, tmp_path: Path
    ) -> None:
        """A heavy benchmark (ics) runs only when named, or at smoke size."""
        bench.run.main(["--out", str(tmp_path)])
        assert "heavy" not in [name for name, _ in fakes.calls]
        fakes.calls.clear()
        assert bench.run.main(["--only", "heavy", "--out", str(tmp_path)]) == 0
        assert fakes.calls == [("heavy", {"cases": 2})]

    @pytest.mark.parametrize(
        ("env", "code"),
        [({}, 0), ({"CI": "true"}, 1), ({"PSIRF_FLOW_REQUIRE_PG": "1"}, 1), ({"CI": "0"}, 0)],
        ids=["local", "ci", "require-pg", "ci-off"],
    )
    def test_a_skip_fails_the_smoke_run_only_where_everything_must_run(
        self,
        fakes: _Fakes,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str],
        code: int,
    ) -> None:
        """Under CI=true or PSIRF_FLOW_REQUIRE_PG=1 a skipped benchmark fails bench-smoke."""
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        out = ["--out", str(tmp_path)]
        assert fakes.run is not None
        assert fakes.run.main(["--smoke", "--only", "skipping", *out]) == code
        assert fakes.run.main(["--only", "skipping", "--strict", "--check", *out]) == 1

    def test_run_refuses_an_unknown_benchmark(
        self, bench: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run.py names an unknown benchmark and returns 2 without running anything."""
        assert bench.run.main(["--only", "nope", "--out", str(tmp_path)]) == 2
        assert "unknown benchmark(s): nope" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []


def _recipe(makefile: str, target: str) -> tuple[str, list[str]]:
    """The prerequisites and recipe lines of ``target`` in ``makefile``."""
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return lines[start].split(":", 1)[1], recipe


class TestMakefile:
    """The make targets that run the benchmarks."""

    MAKEFILE = (BENCH_DIR.parent / "Makefile").read_text(encoding="utf-8")

    def test_make_test_runs_the_smoke_benchmarks(self) -> None:
        """`make test` depends on bench-smoke, which runs run.py --smoke outside results/."""
        prerequisites, _ = _recipe(self.MAKEFILE, "test")
        assert "bench-smoke" in prerequisites.split()
        _, recipe = _recipe(self.MAKEFILE, "bench-smoke")
        runs = [line for line in recipe if "benchmarks/run.py" in line]
        assert len(runs) == 1
        assert "--smoke" in runs[0]
        assert "--out build/" in runs[0]

    def test_make_bench_rewrites_the_page_and_ics_has_its_own_target(self) -> None:
        """`make bench` runs run.py then report.py; `make bench-ics` runs ics alone."""
        _, bench = _recipe(self.MAKEFILE, "bench")
        assert [("run.py" in line, "report.py" in line) for line in bench] == [
            (True, False),
            (False, True),
        ]
        _, ics = _recipe(self.MAKEFILE, "bench-ics")
        assert any("benchmarks/run.py --only ics" in line for line in ics)
