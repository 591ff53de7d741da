"""Run the project's benchmarks, print a table per benchmark, write JSON to ``results/``.

    python benchmarks/run.py            # default sizes, about 2-3 minutes on 2 vCPUs
    python benchmarks/run.py --quick    # smaller sizes, under a minute
    python benchmarks/run.py --full     # the target sizes: 100k open cases, more commands
    python benchmarks/run.py --only throughput,sqlite --reps 7

Every figure is the median of the repetitions (at least 5 for timings); approaches take
turns within each repetition. Each ratio divides two figures measured in the same run and
is printed next to the architecture's target. Nothing here fails on a slow figure: read the
ratios. ``results/<benchmark>[-<tag>].json`` holds the environment and every run's figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_inmemory
import bench_persist
import bench_sweep
import bench_verify
from _harness import RESULTS_DIR, Result, ratio_text, render, save


#: Sizes per mode: benchmark -> keyword arguments.
SIZES: dict[str, dict[str, dict[str, int]]] = {
    "smoke": {
        "throughput": {"cases": 3},
        "memory": {"cases": 30, "anchor_cases": 5, "reps": 1},
        "opening": {"small": 20, "anchor_small": 5},
        "sqlite": {"cases": 4, "transitions": 10},
        "postgres": {"cases": 3, "transitions": 6},
        "sweep": {"idle_small": 200, "idle_large": 2_000, "due": 20, "reps": 1},
        "verify": {"small": 20, "large": 200, "reps": 1},
    },
    "quick": {
        "throughput": {"cases": 60},
        "memory": {"cases": 5_000, "anchor_cases": 500, "reps": 1},
        "opening": {"small": 1_000, "anchor_small": 300},
        "sqlite": {"cases": 200, "transitions": 600},
        "postgres": {"cases": 100, "transitions": 300},
        "sweep": {"idle_small": 10_000, "idle_large": 100_000, "due": 200},
        "verify": {"small": 300, "large": 3_000},
    },
    "default": {
        "throughput": {"cases": 120},
        "memory": {"cases": 10_000, "anchor_cases": 500, "reps": 2},
        "opening": {"small": 2_000, "anchor_small": 300},
        "sqlite": {"cases": 300, "transitions": 800},
        "postgres": {"cases": 150, "transitions": 400},
        "sweep": {"idle_small": 100_000, "idle_large": 1_000_000, "due": 200},
        "verify": {"small": 1_000, "large": 10_000},
    },
    "full": {
        "throughput": {"cases": 1_000},
        "memory": {"cases": 100_000, "anchor_cases": 5_000, "reps": 1},
        "opening": {"small": 10_000, "anchor_small": 1_000},
        "sqlite": {"cases": 1_000, "transitions": 5_000},
        "postgres": {"cases": 500, "transitions": 2_000},
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
    "sweep": bench_sweep.sweep,
    "verify": bench_verify.verify,
}


#: The benchmarks that write SQLite files (and take ``data_dir``).
_DATA_DIR_USERS = frozenset({"sqlite", "sweep", "verify"})


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    mode.add_argument("--full", action="store_true", help="target sizes (100k open cases)")
    mode.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes: proves the scripts run; figures mean nothing",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where JSON goes")
    parser.add_argument("--tag", default=None, help="suffix for the JSON file names")
    parser.add_argument("--data-dir", type=Path, default=None, help="where SQLite files go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks; return 0 (timings never fail a run)."""
    args = _arguments(argv)
    mode = next((m for m in ("smoke", "quick", "full") if getattr(args, m)), "default")
    tag = args.tag if args.tag is not None else ("" if mode == "default" else mode)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results: list[Result] = []
    for name in chosen:
        kwargs: dict[str, object] = dict(SIZES[mode][name])
        if args.reps is not None:
            kwargs["reps"] = args.reps
        if name in _DATA_DIR_USERS and args.data_dir is not None:
            kwargs["data_dir"] = args.data_dir
        print(f"running {name} {kwargs} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result = BENCHMARKS[name](**kwargs)
        result.params["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(result)
        print("\n" + render(result) + "\n", flush=True)
        file_name = result.name + (f"-{tag}" if tag else "")
        path = save(file_name, [result], settings={"mode": mode, **kwargs}, directory=args.out)
        print(f"wrote {path.name} ({result.params['wall_s']} s)", file=sys.stderr)
    _summary(results, time.perf_counter() - started)
    return 0


def _summary(results: list[Result], elapsed: float) -> None:
    print("\n### Ratios against the architecture targets\n")
    for result in results:
        for ratio in result.ratios:
            if ratio.target_text:
                print(f"- {result.name}: {ratio_text(ratio)}")
        for skipped in result.skipped:
            print(f"- {result.name}: skipped: {skipped}")
    print(f"\n(total {elapsed:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
