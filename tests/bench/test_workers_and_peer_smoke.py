"""Smoke tests for the worker-process and eventsourcing-peer benchmarks, at a tiny size.

They prove the scripts run and report well-formed figures, and that the workers lose no
update. They never look at how fast anything was.
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

from psirf_flow import SystemReader


BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


@pytest.fixture(name="bench", scope="module")
def _bench() -> Iterator[SimpleNamespace]:
    """The benchmark modules, imported from the ``benchmarks`` folder."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        modules: dict[str, ModuleType] = {
            name: importlib.import_module(name)
            for name in ("_workload", "bench_persist", "bench_workers", "bench_peer")
        }
        yield SimpleNamespace(**{name.lstrip("_"): m for name, m in modules.items()})
    finally:
        sys.path.remove(str(BENCH_DIR))


@pytest.fixture(name="pg_url")
def _pg_url(bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test server, named to the benchmarks as their server."""
    url = os.environ["PSIRF_FLOW_TEST_PG_URL"]
    monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, url)
    return url


def _check_well_formed(result: Any, expected_rows: set[str], runs: int) -> None:
    rows = {row.key: row for row in result.rows}
    assert set(rows) == expected_rows
    for key in expected_rows:
        assert len(rows[key].runs) == runs, key
        assert all(math.isfinite(v) and v > 0 for v in rows[key].runs), key
    for ratio in result.ratios:
        assert math.isfinite(ratio.value), ratio.label
    json.dumps(result.as_json())


class TestWorkers:
    """PostgreSQL with several worker processes."""

    @pytest.mark.postgres
    def test_one_and_two_workers_fire_on_disjoint_and_shared_cases_and_lose_nothing(
        self, bench: SimpleNamespace, pg_url: str
    ) -> None:
        """1 and 2 worker processes run both modes and the raw anchor, with 0 lost updates."""
        result = bench.bench_workers.workers(
            max_workers=2, commands=6, cases=2, shared=2, reps=1, warmup=0
        )
        assert result.skipped == []
        keys = {
            f"{a}_{m}_{n}"
            for a in ("fire", "raw")
            for m in ("disjoint", "overlapping")
            for n in (1, 2)
        }
        _check_well_formed(result, keys, runs=1)
        assert all(v == dict.fromkeys(v, 0) for v in result.params["checks"].values())
        assert set(result.params["checks"]) == keys
        assert all(
            found == [0] for key, found in result.params["conflicts_per_run"].items() if "_1" in key
        )
        labels = {r.label for r in result.ratios}
        assert "Engine.fire on SqlStore, disjoint: 2 workers / 1 (throughput)" in labels
        assert any("0 lost updates" in note for note in result.notes)

    def test_workers_are_skipped_with_a_reason_when_the_server_is_unreachable(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unreachable server is reported as skipped and no process is started."""
        monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, UNREACHABLE)
        result = bench.bench_workers.workers(max_workers=2, commands=2, reps=1)
        assert result.rows == []
        assert len(result.skipped) == 1
        assert result.skipped[0].startswith("PostgreSQL: cannot reach")


class TestPeer:
    """psirf_flow beside the eventsourcing library."""

    @pytest.fixture(autouse=True)
    def _eventsourcing(self) -> None:
        """The peer's tests need eventsourcing (a benchmark dependency)."""
        pytest.importorskip("eventsourcing")

    def test_the_aggregate_follows_the_same_lifecycle_as_the_engine(
        self, bench: SimpleNamespace
    ) -> None:
        """The eventsourcing aggregate reaches the engine's state after every PSII step."""
        from _es_model import PsiiApplication

        w = bench.workload
        engine = w.new_engine()
        case_id = w.open_cases(engine, 1)[0]
        app = PsiiApplication()
        (aggregate_id,) = app.open_cases(w.PSS, w.OPEN_PAYLOAD, 1)
        steps = len(w.PSII_PATH) + 2 * len(w.REOPEN_LOOP)
        for k in range(steps):
            trigger, actor, payload = w.step_for(k)
            outcome = engine.fire(case_id, trigger, actor=actor, payload=payload)
            version = app.fire(aggregate_id, trigger, actor, payload)
            aggregate = app.repository.get(aggregate_id)
            assert (aggregate.state, aggregate.held_from) == (
                outcome.case.state,
                outcome.case.held_from,
            ), trigger
            assert version == outcome.case.version
        assert len(engine.history(case_id, reader=SystemReader("test"))) == steps + 1

    def test_the_aggregate_refuses_a_step_its_table_does_not_allow(
        self, bench: SimpleNamespace
    ) -> None:
        """A trigger not allowed from the case's state is refused and nothing is saved."""
        from _es_model import PsiiApplication

        w = bench.workload
        app = PsiiApplication()
        (aggregate_id,) = app.open_cases(w.PSS, w.OPEN_PAYLOAD, 1)
        with pytest.raises(ValueError, match="not allowed"):
            app.fire(aggregate_id, "approve", w.EXEC, {"report_ref": "REP-1"})
        assert app.repository.get(aggregate_id).version == 1

    def test_sqlite_runs_fire_and_eventsourcing_at_both_durabilities(
        self, bench: SimpleNamespace, tmp_path: Path
    ) -> None:
        """On SQLite, fire and eventsourcing run at FULL and NORMAL (as it sees them), < 1x each."""
        result = bench.bench_peer.peer(
            cases=3, transitions=8, reps=1, data_dir=tmp_path, backends=("sqlite",)
        )
        assert result.skipped == []
        keys = {f"sqlite_{kind}_{d}" for kind in ("fire", "es") for d in ("full", "normal")}
        _check_well_formed(result, keys, runs=1)
        assert result.params["eventsourcing_sqlite_synchronous"] == {
            "full": "FULL",
            "normal": "NORMAL",
        }
        assert [(r.numerator, r.target_text) for r in result.ratios] == [
            ("sqlite_fire_full", "< 1x"),
            ("sqlite_fire_normal", "< 1x"),
        ]

    @pytest.mark.postgres
    def test_postgres_runs_fire_and_eventsourcing_at_both_settings(
        self, bench: SimpleNamespace, pg_url: str
    ) -> None:
        """On PostgreSQL, both run with synchronous_commit on and off, as eventsourcing sees it."""
        result = bench.bench_peer.peer(cases=3, transitions=8, reps=1, backends=("postgres",))
        assert result.skipped == []
        keys = {f"postgres_{kind}_{d}" for kind in ("fire", "es") for d in ("full", "normal")}
        _check_well_formed(result, keys, runs=1)
        assert result.params["eventsourcing_synchronous_commit"] == {"full": "on", "normal": "off"}
        assert len(result.ratios) == 2

    def test_postgres_is_skipped_with_a_reason_when_unreachable(
        self, bench: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unreachable server skips the PostgreSQL rows, with the reason."""
        monkeypatch.setenv(bench.bench_persist.PG_URL_ENV, UNREACHABLE)
        result = bench.bench_peer.peer(cases=2, transitions=2, reps=1, backends=("postgres",))
        assert result.rows == []
        assert [s.split(":")[0] for s in result.skipped] == ["PostgreSQL"]
