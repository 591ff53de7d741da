"""Smoke tests for the scale benchmarks and their bulk loader, at tiny sizes on PostgreSQL.

They prove that the loaded rows are valid (every audit chain verifies, the sweeper fires
what is due) and that the benchmarks report well-formed results. No timing is asserted.
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

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow import Engine, Sweeper
from psirf_flow.audit import GENESIS_HASH
from psirf_flow.audit.entries import expected_hash
from psirf_flow.ports import CaseQuery
from psirf_flow.testing import ManualClock


BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(name="bench", scope="module")
def _bench() -> Iterator[SimpleNamespace]:
    """The scale benchmark modules, imported from the ``benchmarks`` folder."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        modules: dict[str, ModuleType] = {
            name: importlib.import_module(name) for name in ("_bulk", "bench_scale", "run")
        }
        yield SimpleNamespace(**{name.lstrip("_"): m for name, m in modules.items()})
    finally:
        sys.path.remove(str(BENCH_DIR))


@pytest.fixture(name="server")
def _server(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test server's URL, also given to the benchmarks."""
    url = os.environ["PSIRF_FLOW_TEST_PG_URL"]
    monkeypatch.setenv("PSIRF_FLOW_BENCH_PG_URL", url)
    return url


@pytest.mark.postgres
def test_bulk_load_writes_cases_that_verify_and_sweep(bench: SimpleNamespace, server: str) -> None:
    """Every loaded case verifies, and one sweep fires exactly the due tiers."""
    from psirf_flow.store.sql import SqlStore

    mix = bench.bulk.Mix(cases=120, organisations=2, dates=2, due=6, leads=2)
    with bench.bulk.database(server) as url:
        report = bench.bulk.load(url, mix)
        assert report.rows["cases"] == 120
        assert report.rows["audit_entries"] > 4 * 100
        assert report.rows["outbox"] >= 1
        store = SqlStore.open(url)
        try:
            engine = Engine(store, clock=ManualClock(bench.bulk.NOW))
            page = store.list_cases(CaseQuery(limit=1000))
            assert len(page.items) == 120
            for case in page.items:
                assert engine.verify(case.id, reader=bench.bulk.READER).ok, case.id
            swept = Sweeper(engine).sweep(bench.bulk.NOW)
            assert (swept.fired, swept.failed, swept.conflicts) == (6, 0, 0)
        finally:
            store.dispose()


def _well_formed(result: object, keys: set[str]) -> None:
    rows = {row.key: row for row in result.rows}  # type: ignore[attr-defined]
    assert keys <= set(rows)
    for key in keys:
        assert rows[key].runs, key
        assert all(math.isfinite(v) and v > 0 for v in rows[key].runs), key
    for ratio in result.ratios:  # type: ignore[attr-defined]
        assert math.isfinite(ratio.value), ratio.label
    json.dumps(result.as_json())  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_listing_reports_pages_queries_and_anchors(bench: SimpleNamespace, server: str) -> None:
    """The listing benchmark times pages at three depths and the queries, beside raw SQL."""
    result = bench.bench_scale.listing(cases=200, reps=1, organisations=2)
    assert result.skipped == []
    keys = {"list_first", "list_deep", "list_last", "keyset_last", "offset_last", "overdue"}
    _well_formed(result, keys | {"caseload", "caseload_raw", "oversight", "oversight_raw"})
    assert any(r.target == 1.5 for r in result.ratios)
    assert result.params["load_rows_per_s"] > 0


@pytest.mark.postgres
def test_ics_reports_the_operations_and_the_sweep(bench: SimpleNamespace, server: str) -> None:
    """The ics benchmark times fire, the queries, verify and the sweeps, and sizes the database."""
    result = bench.bench_scale.ics(cases=200, reps=1, organisations=2)
    assert result.skipped == []
    _well_formed(result, {"fire", "caseload", "overdue", "board", "verify", "sweep", "sweep_idle"})
    assert result.params["database_mib"] > 0
    assert result.params["sweep"].startswith("claimed=")


def test_ics_runs_only_when_named(bench: SimpleNamespace) -> None:
    """run.py leaves the ics benchmark out unless --only names it, and sizes it in every mode."""
    assert "ics" in bench.run.HEAVY
    assert "ics" not in bench.run._chosen("", "default")
    assert "ics" in bench.run._chosen("ics", "default")
    assert all({"listing", "ics"} <= set(sizes) for sizes in bench.run.SIZES.values())


@pytest.fixture(name="template", scope="module")
def _template(bench: SimpleNamespace) -> object:
    """A closed PSII life cut into clone pieces (late: with a fired tier and its message)."""
    return bench.bulk._template(
        "psii_late", "R00", bench.bulk.NOW.replace(year=2024), "TPL00007", "lead-R00-000"
    )


class _Lines:
    """Collects what the loader would COPY."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)


@settings(max_examples=40, deadline=None)
@given(number=st.integers(min_value=0, max_value=2**40))
def test_cloned_hashes_equal_the_librarys(
    bench: SimpleNamespace, template: object, number: int
) -> None:
    """A clone's entries hash as the library's expected_hash says; its message names its cause."""
    case_id = bench.bulk._case_id(number)
    writers = {name: _Lines() for name in bench.bulk._TABLES}
    counters = {"audit_entries": 0, "outbox": 0}
    template.checked = True  # type: ignore[attr-defined]  # compared here, not in the loader

    bench.bulk._emit(template, case_id, writers, counters)

    columns = bench.bulk.ENTRY_COLUMNS
    previous = GENESIS_HASH
    rows = [
        dict(zip(columns, line.split("\t"), strict=True)) for line in writers["audit_entries"].lines
    ]
    for entry, row in zip(template.entries, rows, strict=True):  # type: ignore[attr-defined]
        assert (row["case_id"], row["previous_hash"]) == (case_id, previous)
        clone = attrs.evolve(entry, case_id=case_id, previous_hash=previous, hash=row["hash"])
        assert expected_hash(clone, None) == row["hash"]
        previous = row["hash"]
    (case_line,) = writers["cases"].lines
    assert case_line.split("\t")[7] == previous
    (line,) = writers["outbox"].lines
    message = dict(zip(bench.bulk.OUTBOX_COLUMNS, line.split("\t"), strict=True))
    assert message["case_id"] == case_id
    assert message["cause_hash"] == rows[int(message["cause_sequence"]) - 1]["hash"]
