"""Measurement plumbing shared by the benchmarks: repetitions, figures, ratios, tables, JSON.

Every benchmark returns a :class:`Result`: named :class:`Row` figures, each with every
repetition's value, and :class:`Ratio` checks that divide two rows measured in the same run
and compare the quotient with an architecture target. :func:`problems` says whether a result
is well formed (the smoke run's check); :func:`target_rows` and :func:`save_summary` gather
every ratio that has a target into one table. Nothing here asserts a timing.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


RESULTS_DIR = Path(__file__).resolve().parent / "results"

PACKAGES = (
    "psirf-flow",
    "transitions",
    "python-statemachine",
    "eventsourcing",
    "attrs",
    "structlog",
    "SQLAlchemy",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
    "alembic",
)


@dataclass
class Row:
    """One measured figure: every repetition's value in ``unit``."""

    key: str
    label: str
    unit: str
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def low(self) -> float:
        return min(self.runs) if self.runs else float("nan")

    @property
    def high(self) -> float:
        return max(self.runs) if self.runs else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "median": self.median, "min": self.low, "max": self.high}


@dataclass
class Ratio:
    """``numerator / denominator`` (row medians) against a target ``op`` ``target``.

    With an empty ``denominator`` the numerator's median is divided by ``divisor`` instead
    (a check against an absolute limit).
    """

    label: str
    numerator: str
    denominator: str
    target: float | None = None
    op: str = "<="
    target_text: str = ""
    value: float = float("nan")
    divisor: float = 1.0

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class Result:
    """What one benchmark measured, ready to print and to save."""

    name: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Ratios asked for whose rows were not measured (a skipped approach): never computed.
    unmeasured: list[Ratio] = field(default_factory=list)

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def has(self, key: str) -> bool:
        return any(r.key == key and r.runs for r in self.rows)

    def add_ratio(self, ratio: Ratio) -> None:
        """Compute ``ratio`` from this result's rows; listed as unmeasured when a row is missing."""
        if not self.has(ratio.numerator) or (ratio.denominator and not self.has(ratio.denominator)):
            self.unmeasured.append(ratio)
            return
        den = self.row(ratio.denominator).median if ratio.denominator else ratio.divisor
        ratio.value = self.row(ratio.numerator).median / den if den else float("nan")
        self.ratios.append(ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "params": self.params,
            "rows": [r.as_json() for r in self.rows],
            "ratios": [r.as_json() for r in self.ratios],
            "notes": self.notes,
            "skipped": self.skipped,
            "unmeasured": [r.label for r in self.unmeasured],
        }


def timed(fn: Callable[[], Any]) -> float:
    """Seconds taken by ``fn()`` after a full collection (GC stays on during the call)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    reps: int, approaches: Iterable[str], run_one: Callable[[str], None], *, label: str = ""
) -> None:
    """Run every approach once per repetition, in turn, so noise hits all of them alike."""
    names = list(approaches)
    for rep in range(reps):
        for name in names:
            run_one(name)
        if label:
            print(f"  {label}: repetition {rep + 1}/{reps} done", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ output


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.extend(
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    )
    return "\n".join(lines)


def ratio_text(ratio: Ratio) -> str:
    """E.g. ``fire / transitions = 2.4x (target ≤ 3x: met)``."""
    verdict = {True: "met", False: "MISSED", None: "no target"}[ratio.met]
    target = f" (target {ratio.target_text}: {verdict})" if ratio.target_text else ""
    return f"{ratio.label} = {_fmt(ratio.value)}x{target}"


def render(result: Result) -> str:
    """The result as markdown: a table of medians and spreads, then the ratios."""
    reps = max((len(r.runs) for r in result.rows), default=0)
    out = [f"### {result.title}", ""]
    if result.params:
        out.append("params: " + ", ".join(f"{k}={v}" for k, v in result.params.items()))
        out.append("")
    rows = [
        [r.label, r.unit, _fmt(r.median), f"{_fmt(r.low)}-{_fmt(r.high)}", str(len(r.runs))]
        for r in result.rows
        if r.runs
    ]
    out.append(_table(["approach", "unit", f"median (of {reps})", "min-max", "runs"], rows))
    if result.ratios:
        out.append("")
        out.extend(f"- {ratio_text(r)}" for r in result.ratios)
    out.extend(f"- skipped: {s}" for s in result.skipped)
    out.extend(f"- note: {n}" for n in result.notes)
    return "\n".join(out)


def _cpu_model() -> str:
    """The processor's name as the OS reports it (``/proc/cpuinfo`` on Linux), or ``""``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def environment() -> dict[str, Any]:
    """Python, platform, CPU count and model, and the versions of the packages that matter."""
    import importlib.metadata as md
    import sqlite3

    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {p: version(p) for p in PACKAGES},
    }


def save(name: str, results: list[Result], *, settings: dict[str, Any], directory: Path) -> Path:
    """Write ``directory/<name>.json`` with the environment and every run's figures."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": environment(),
        "settings": settings,
        "results": [r.as_json() for r in results],
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return path


# ------------------------------------------------------------------ checks and the summary


def _strictly_positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


def problems(result: Result, *, strict: bool = False) -> list[str]:
    """What makes ``result`` ill formed; empty when it is well formed.

    Well formed: something was measured; every repetition of every row is a finite,
    non-negative number (a count such as conflicts may be 0); every row a ratio divides is
    positive; every ratio asked for was computed and is finite and positive; the JSON has no
    NaN. A benchmark may skip part of its work with a reason (a server it cannot reach, an
    anchor not installed); with ``strict`` (CI, where every backend must run) a skip is a
    problem too. Timings are never judged.
    """
    found: list[str] = []
    tolerated = bool(result.skipped) and not strict
    if strict:
        found.extend(f"skipped: {reason}" for reason in result.skipped)
    if not any(row.runs for row in result.rows) and not result.skipped:
        found.append("measured nothing")
    in_ratios = {r.numerator for r in result.ratios} | {r.denominator for r in result.ratios}
    for row in result.rows:
        if not row.runs:
            if not tolerated:
                found.append(f"row {row.key!r} was never measured")
            continue
        if not all(math.isfinite(v) and v >= 0 for v in row.runs):
            found.append(f"row {row.key!r} has a run that is not a finite figure: {row.runs}")
        elif row.key in in_ratios and not _strictly_positive(row.median):
            found.append(f"row {row.key!r} is divided in a ratio but its median is not positive")
    for ratio in result.ratios:
        if not _strictly_positive(ratio.value):
            found.append(f"ratio {ratio.label!r} is {ratio.value}, not a finite positive figure")
    if result.unmeasured and not tolerated:
        labels = ", ".join(repr(r.label) for r in result.unmeasured)
        found.append(f"ratio(s) not computed, their rows missing: {labels}")
    try:
        json.dumps(result.as_json(), allow_nan=False, default=str)
    except ValueError as error:
        if not tolerated:
            found.append(f"its JSON is not valid: {error}")
    return found


def _figure(result: Result, key: str) -> dict[str, Any] | None:
    if not key or not result.has(key):
        return None
    row = result.row(key)
    return {"key": key, "label": row.label, "median": row.median, "unit": row.unit}


def target_rows(result: Result) -> list[dict[str, Any]]:
    """One entry per ratio with a target, computed or not: what the summary table shows."""
    rows: list[dict[str, Any]] = []
    for ratio in [*result.ratios, *result.unmeasured]:
        if ratio.target is None and not ratio.target_text:
            continue
        computed = ratio in result.ratios
        rows.append(
            {
                "measure": ratio.label,
                "target": ratio.target_text or f"{ratio.op} {ratio.target}",
                "op": ratio.op,
                "target_value": ratio.target,
                "figure": ratio.value if computed else None,
                "met": ratio.met if computed else None,
                "numerator": _figure(result, ratio.numerator),
                "denominator": _figure(result, ratio.denominator),
                "divisor": ratio.divisor if not ratio.denominator else None,
            }
        )
    return rows


def verdict(entry: dict[str, Any]) -> str:
    """``met``, ``MISSED`` or ``not measured`` for one :func:`target_rows` entry."""
    return {True: "met", False: "MISSED", None: "not measured"}[entry["met"]]


def figure_text(entry: dict[str, Any]) -> str:
    """The ratio and what it divides, e.g. ``7.45x (44.0 µs/transition / 5.90 µs/transition)``."""
    if entry["figure"] is None:
        return "-"
    parts = [f"{_fmt(entry['figure'])}x"]
    num, den = entry["numerator"], entry["denominator"]
    if num is not None and den is not None:
        parts.append(f"({_fmt(num['median'])} {num['unit']} / {_fmt(den['median'])} {den['unit']})")
    elif num is not None:
        parts.append(f"({_fmt(num['median'])} {num['unit']})")
    return " ".join(parts)


def summary_table(benchmarks: dict[str, dict[str, Any]]) -> str:
    """Markdown: measure | target | figure | verdict | benchmark, then every skip."""
    rows: list[list[str]] = []
    skips: list[str] = []
    for name, entry in benchmarks.items():
        for target in entry["targets"]:
            rows.append(
                [target["measure"], target["target"], figure_text(target), verdict(target), name]
            )
        skips.extend(f"- {name}: skipped: {reason}" for reason in entry["skipped"])
        if entry.get("error"):
            skips.append(f"- {name}: FAILED: {entry['error']}")
    table = _table(["measure", "target", "figure", "verdict", "benchmark"], rows)
    return "\n".join([table, *(["", *skips] if skips else [])])


def summary_entry(result: Result, *, file: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What the summary keeps of one benchmark's run."""
    return {
        "result": result.name,
        "title": result.title,
        "file": file,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "wall_s": result.params.get("wall_s"),
        "server_version": result.params.get("server_version"),
        "targets": target_rows(result),
        "skipped": list(result.skipped),
        "error": None,
    }


def save_summary(
    path: Path,
    benchmarks: dict[str, dict[str, Any]],
    *,
    registered: Iterable[str],
    mode: str,
    command: str,
    elapsed: float,
) -> dict[str, Any]:
    """Write ``path`` (e.g. ``results/summary.json``): every target of every benchmark.

    A run of some benchmarks (``--only``) replaces their entries and keeps the others' last
    figures, each entry with its own date and environment; entries of benchmarks no longer
    registered are dropped. Returns what was written.
    """
    env = environment()
    for entry in benchmarks.values():
        entry["environment"] = env
    kept: dict[str, dict[str, Any]] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text())
            if previous.get("mode") == mode:
                kept = dict(previous.get("benchmarks", {}))
        except (ValueError, OSError):
            kept = {}
    names = list(registered)
    merged = {**kept, **benchmarks}
    ordered = {name: merged[name] for name in names if name in merged}
    server = next((e["server_version"] for e in ordered.values() if e.get("server_version")), None)
    payload = {
        "name": path.stem,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": mode,
        "command": command,
        "total_s": round(elapsed, 1),
        "environment": {**env, "postgresql": server},
        "benchmarks": ordered,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str, ensure_ascii=False) + "\n")
    return payload
