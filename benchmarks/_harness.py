"""Measurement plumbing shared by the benchmarks: repetitions, figures, ratios, tables, JSON.

Every benchmark returns a :class:`Result`: named :class:`Row` figures, each with every
repetition's value, and :class:`Ratio` checks that divide two rows measured in the same run
and compare the quotient with an architecture target. Nothing here asserts a timing.
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
    "attrs",
    "structlog",
    "SQLAlchemy",
    "psycopg",
    "psycopg-binary",
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

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def has(self, key: str) -> bool:
        return any(r.key == key and r.runs for r in self.rows)

    def add_ratio(self, ratio: Ratio) -> None:
        """Compute ``ratio`` from this result's rows; skipped when a row is missing."""
        if not self.has(ratio.numerator):
            return
        if ratio.denominator and not self.has(ratio.denominator):
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


def environment() -> dict[str, Any]:
    """Python, platform, CPU count and the versions of the packages that matter."""
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
