"""Run the project's benchmarks, print a table per benchmark, write JSON to ``results/``.

    python benchmarks/run.py            # the target sizes (what `make bench` runs)
    python benchmarks/run.py --quick    # smaller sizes, for development
    python benchmarks/run.py --full     # the target sizes with larger samples
    python benchmarks/run.py --smoke    # tiny sizes, every benchmark, results checked
    python benchmarks/run.py --only throughput,sqlite --reps 7

Every figure is the median of the repetitions (at least 5 for timings); approaches take
turns within each repetition. Each ratio divides two figures measured in the same run and
is printed next to the architecture's target; the run ends with one table of every target.
Nothing here fails on a slow figure: read the ratios. ``results/<benchmark>[-<tag>].json``
holds the environment and every run's figures, ``results/summary[-<tag>].json`` every target.

The exit status is 1 when a benchmark raises, or (with ``--smoke`` or ``--check``) when a
result is not well formed (``_harness.problems``); with ``--strict``, or when ``CI=true`` or
``PSIRF_FLOW_REQUIRE_PG=1``, a skipped part (an unreachable PostgreSQL server) fails it too.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_inmemory
import bench_peer
import bench_persist
import bench_scale
import bench_sweep
import bench_verify
import bench_workers
from _harness import (
    RESULTS_DIR,
    Result,
    problems,
    render,
    save,
    save_summary,
    summary_entry,
    summary_table,
)


#: Sizes per mode: benchmark -> keyword arguments. The default sizes are those at which the
#: issue states its targets (``make bench`` runs them); ``full`` takes larger samples.
SIZES: dict[str, dict[str, dict[str, int]]] = {
    "smoke": {
        "throughput": {"cases": 3},
        "memory": {"cases": 30, "anchor_cases": 5, "reps": 1},
        "opening": {"small": 20, "anchor_small": 5},
        "sqlite": {"cases": 4, "transitions": 10},
        "postgres": {"cases": 3, "transitions": 6},
        "listing": {"cases": 200, "organisations": 2},
        "ics": {"cases": 200, "organisations": 2},
        "workers": {
            "max_workers": 2,
            "commands": 6,
            "cases": 2,
            "shared": 2,
            "reps": 1,
            "warmup": 0,
        },
        "peer": {"cases": 3, "transitions": 8, "reps": 1},
        "sweep": {"idle_small": 200, "idle_large": 2_000, "due": 20, "reps": 1},
        "verify": {"small": 20, "large": 200, "reps": 1},
    },
    "quick": {
        "throughput": {"cases": 60},
        "memory": {"cases": 5_000, "anchor_cases": 500, "reps": 1},
        "opening": {"small": 1_000, "anchor_small": 300},
        "sqlite": {"cases": 200, "transitions": 600},
        "postgres": {"cases": 100, "transitions": 300},
        "listing": {"cases": 100_000},
        "ics": {"cases": 100_000},
        "workers": {"commands": 60, "cases": 10, "shared": 4},
        "peer": {"cases": 100, "transitions": 300},
        "sweep": {"idle_small": 10_000, "idle_large": 100_000, "due": 200},
        "verify": {"small": 300, "large": 3_000},
    },
    "default": {
        "throughput": {"cases": 120},
        "memory": {"cases": 100_000, "anchor_cases": 1_000, "reps": 1},
        "opening": {"small": 10_000, "anchor_small": 300},
        "sqlite": {"cases": 300, "transitions": 800},
        "postgres": {"cases": 150, "transitions": 400},
        "listing": {"cases": 1_000_000},
        "ics": {"cases": 1_000_000},
        "workers": {"commands": 150, "cases": 20, "shared": 4},
        "peer": {"cases": 300, "transitions": 800},
        "sweep": {"idle_small": 100_000, "idle_large": 1_000_000, "due": 200},
        "verify": {"small": 1_000, "large": 10_000},
    },
    "full": {
        "throughput": {"cases": 1_000},
        "memory": {"cases": 100_000, "anchor_cases": 5_000, "reps": 1},
        "opening": {"small": 10_000, "anchor_small": 1_000},
        "sqlite": {"cases": 1_000, "transitions": 5_000},
        "postgres": {"cases": 500, "transitions": 2_000},
        "listing": {"cases": 1_000_000},
        "ics": {"cases": 1_000_000},
        "workers": {"commands": 500, "cases": 50, "shared": 8},
        "peer": {"cases": 1_000, "transitions": 5_000},
        "sweep": {"idle_small": 100_000, "idle_large": 1_000_000, "due": 200},
        "verify": {"small": 1_000, "large": 10_000},
    },
}

BENCHMARKS: dict[str, Callable[..., Result]] = {
    "throughput": bench_inmemory.throughput,
    "memory": bench_inmemory.memory,
    "opening": bench_inmemory.opening,
    "sqlite": bench_persist.sqlite,
    "postgres": bench_persist.postgres,
    "listing": bench_scale.listing,
    "ics": bench_scale.ics,
    "workers": bench_workers.workers,
    "peer": bench_peer.peer,
    "sweep": bench_sweep.sweep,
    "verify": bench_verify.verify,
}

#: Too heavy for `make bench` (it has `make bench-ics`): run only when named in ``--only``,
#: and at ``--smoke`` size (where every registered benchmark runs).
HEAVY: frozenset[str] = frozenset({"ics"})

#: Repetitions at ``--smoke`` size unless its ``SIZES`` entry says otherwise: the smoke run
#: proves the code runs and its results are well formed; its figures mean nothing.
SMOKE_REPS = 1

#: What the whole smoke run should take (seconds); exceeding it prints a warning naming the
#: slowest benchmarks, never a failure (no timing is asserted).
SMOKE_BUDGET_S = 60.0

#: Environment variables under which a skipped part fails the run (as a skipped PostgreSQL
#: test fails the test session there).
STRICT_ENV = (("CI", "true"), ("PSIRF_FLOW_REQUIRE_PG", "1"))


#: The benchmarks that write SQLite files (and take ``data_dir``).
_DATA_DIR_USERS = frozenset({"sqlite", "sweep", "verify"})


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, for development")
    mode.add_argument("--full", action="store_true", help="target sizes, larger samples")
    mode.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, every registered benchmark, results checked; figures mean nothing",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where JSON goes")
    parser.add_argument("--tag", default=None, help="suffix for the JSON file names")
    parser.add_argument("--data-dir", type=Path, default=None, help="where SQLite files go")
    parser.add_argument(
        "--check", action="store_true", help="fail on an ill-formed result (implied by --smoke)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="implies --check; a skip fails it (as under CI=true or PSIRF_FLOW_REQUIRE_PG=1)",
    )
    return parser.parse_args(argv)


def _chosen(only: str, mode: str) -> list[str]:
    named = [n.strip() for n in only.split(",") if n.strip()]
    if named:
        return named
    return [n for n in BENCHMARKS if mode == "smoke" or n not in HEAVY]


def _kwargs(name: str, mode: str, args: argparse.Namespace) -> dict[str, object]:
    kwargs: dict[str, object] = dict(SIZES[mode].get(name, {}))
    accepted = inspect.signature(BENCHMARKS[name]).parameters
    if args.reps is not None and "reps" in accepted:
        kwargs["reps"] = args.reps
    elif mode == "smoke" and "reps" in accepted:
        kwargs.setdefault("reps", SMOKE_REPS)
    if args.data_dir is not None and "data_dir" in accepted:
        kwargs["data_dir"] = args.data_dir / name
    return kwargs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks; 1 if one raised or (when checked) is ill formed, else 0.

    A slow figure never fails a run.
    """
    args = _arguments(argv)
    mode = next((m for m in ("smoke", "quick", "full") if getattr(args, m)), "default")
    tag = args.tag if args.tag is not None else ("" if mode == "default" else mode)
    check = args.check or args.strict or mode == "smoke"
    strict = args.strict or any(os.environ.get(k) == v for k, v in STRICT_ENV)
    chosen = _chosen(args.only, mode)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    entries: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    for name in chosen:
        kwargs = _kwargs(name, mode, args)
        print(f"running {name} {kwargs} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            result = BENCHMARKS[name](**kwargs)
        except Exception as error:  # noqa: BLE001 - reported, and the run fails
            traceback.print_exc()
            failures.append(f"{name}: raised {type(error).__name__}: {error}")
            entries[name] = _failed_entry(name, error, kwargs, mode)
            continue
        result.params["wall_s"] = round(time.perf_counter() - t0, 1)
        print("\n" + render(result) + "\n", flush=True)
        file_name = result.name + (f"-{tag}" if tag else "")
        settings = {"mode": mode, **kwargs}
        path = save(file_name, [result], settings=settings, directory=args.out)
        print(f"wrote {path.name} ({result.params['wall_s']} s)", file=sys.stderr)
        entries[name] = summary_entry(result, file=path.name, settings=settings)
        if check:
            failures.extend(f"{name}: {p}" for p in problems(result, strict=strict))
    elapsed = time.perf_counter() - started
    summary = save_summary(
        args.out / ("summary" + (f"-{tag}" if tag else "") + ".json"),
        entries,
        registered=BENCHMARKS,
        mode=mode,
        command=_command(argv),
        elapsed=elapsed,
    )
    print("\n### Every target\n")
    print(summary_table(summary["benchmarks"]))
    print(f"\n(total {elapsed:.0f} s, {len(chosen)} benchmark(s), mode {mode})")
    if mode == "smoke" and elapsed > SMOKE_BUDGET_S:
        slowest = sorted(((e.get("wall_s") or 0.0, n) for n, e in entries.items()), reverse=True)[
            :3
        ]
        named = ", ".join(f"{n} {w} s" for w, n in slowest)
        print(
            f"warning: the smoke run took {elapsed:.0f} s, over its {SMOKE_BUDGET_S:.0f} s "
            f"budget; slowest: {named}",
            file=sys.stderr,
        )
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"- {failure}", file=sys.stderr)
        return 1
    return 0


def _failed_entry(
    name: str, error: Exception, kwargs: dict[str, object], mode: str
) -> dict[str, object]:
    return {
        "result": name,
        "title": name,
        "file": None,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {"mode": mode, **kwargs},
        "wall_s": None,
        "server_version": None,
        "targets": [],
        "skipped": [],
        "error": f"{type(error).__name__}: {error}",
    }


#: Options naming a local folder: left out of the command a summary records (they change
#: where files go, not a figure).
_LOCAL_OPTIONS = ("--out", "--data-dir")


def _command(argv: Sequence[str] | None) -> str:
    """The command line that reproduces the run, without local folders."""
    given = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip = False
    for arg in given:
        if skip:
            skip = False
        elif arg in _LOCAL_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in _LOCAL_OPTIONS)):
            kept.append(arg)
    return shlex.join(["python", "benchmarks/run.py", *kept])


if __name__ == "__main__":
    sys.exit(main())
