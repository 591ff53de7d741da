"""Write the performance page of the docs from the last `make bench` run's summary.

    python benchmarks/report.py            # results/summary.json -> docs/explanation/performance.md
    python benchmarks/report.py --check    # exit 1 when the page is not what the summary gives

`make bench` runs this after `run.py`, so the page always shows the figures in
``results/summary.json``: the table of every target, the machine and versions they were
measured with, the date, and the command that reproduces them. The page is committed;
``tests/bench/test_report.py`` fails when it drifts from the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import RESULTS_DIR, summary_table


ROOT = Path(__file__).resolve().parents[1]
SUMMARY = RESULTS_DIR / "summary.json"
PAGE = ROOT / "docs" / "explanation" / "performance.md"

_INTRO = """\
# Performance

<!-- Written by benchmarks/report.py from benchmarks/results/summary.json; do not edit by
hand: `make bench` rewrites it, and a test fails when it drifts from the summary. -->

psirf_flow's benchmarks measure the library **beside anchors measured in the same run, on the
same workflow**: a bare `transitions` machine and a python-statemachine one for the in-memory
core, the raw database drivers doing the same writes for the stores, the eventsourcing
library as the peer a developer would otherwise pick for an audited store, and the same
figure at a ten times larger size where the target is that cost must not grow with the data.
Every figure is the median of at least five repetitions in which the approaches take turns,
and every ratio divides two figures of the same run. Timings depend on the machine and on
whatever else runs on it: read the **ratios**. The method, what each figure times and what
the profiles showed are in `benchmarks/README.md` in the repository.
"""

_EMPTY = """
## Latest figures

No run of `make bench` is recorded yet (`benchmarks/results/summary.json` is missing). Run
it as shown below; it writes the figures and rewrites this page.
"""


def _when(stamp: str) -> str:
    """``2026-12-07T19:14:09+0000`` -> ``2026-12-07 19:14 (UTC+0000)``."""
    date, _, rest = stamp.partition("T")
    clock, offset = rest[:5], rest[8:]
    return f"{date} {clock}" + (f" (UTC{offset})" if offset else "")


def _machine(env: dict[str, Any]) -> list[str]:
    cpus = env.get("cpu_count")
    model = env.get("cpu_model") or "CPU model not reported"
    packages = env.get("packages") or {}
    lines = [
        "| | |",
        "|---|---|",
        f"| CPUs | {cpus}, {model} |",
        f"| platform | {env.get('platform')} ({env.get('machine')}) |",
        f"| Python | {env.get('implementation')} {env.get('python')} |",
        f"| SQLite | {env.get('sqlite')} |",
        f"| PostgreSQL | {env.get('postgresql') or 'not measured'} |",
    ]
    lines.extend(f"| {name} | {version or 'not installed'} |" for name, version in packages.items())
    return lines


def _differs(entry: dict[str, Any], env: dict[str, Any]) -> bool:
    mine = entry.get("environment") or {}
    keys = ("cpu_count", "cpu_model", "platform", "python", "sqlite", "packages")
    return any(mine.get(k) != env.get(k) for k in keys)


def _runs(benchmarks: dict[str, dict[str, Any]], env: dict[str, Any]) -> list[str]:
    lines = ["| benchmark | measured | took | sizes |", "|---|---|---|---|"]
    for name, entry in benchmarks.items():
        settings = {k: v for k, v in (entry.get("settings") or {}).items() if k != "mode"}
        sizes = ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in settings.items()
        )
        took = f"{entry['wall_s']:,} s" if entry.get("wall_s") is not None else "-"
        when = _when(entry.get("when", ""))
        if _differs(entry, env):
            when += " (another machine or versions: see its JSON)"
        lines.append(f"| `{name}` | {when} | {took} | {sizes or '-'} |")
    return lines


def render_page(summary: dict[str, Any] | None) -> str:
    """The page's Markdown for ``summary`` (the content of ``summary.json``), or ``None``."""
    parts = [_INTRO]
    if summary is None:
        parts.append(_EMPTY)
    else:
        env = summary["environment"]
        benchmarks = summary["benchmarks"]
        parts.extend(
            [
                "\n## Latest figures\n",
                f"Run of {_when(summary['when'])}, mode `{summary['mode']}`, "
                f"{summary['total_s']:,} s in all (`{summary['command']}`). The figure is the "
                "ratio, then the two medians it divides (or the one it compares with an "
                "absolute limit). A verdict of `MISSED` is a target not reached in this run; "
                "the closing note of the performance issue and `benchmarks/README.md` explain "
                "each one that is.\n",
                summary_table(benchmarks),
                "\n## The machine\n",
                "\n".join(_machine(env)),
                "\n## Each benchmark's run\n",
                "\n".join(_runs(benchmarks, env)),
            ]
        )
    parts.append(
        """
## Reproduce

On a clean clone, with Python 3.11+, `make` and a PostgreSQL server (the benchmarks create a
database of their own there and drop it afterwards):

```sh
export PSIRF_FLOW_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test  # the default
make bench        # the target sizes; prints every target beside its figure, rewrites this page
make bench-ics    # the trust-to-ICS scale run (1,000,000 cases), not part of make bench
make bench-smoke  # every benchmark at a tiny size: proves they run (part of make test)
```

`make bench` runs `python benchmarks/run.py`, which writes one JSON file per benchmark and
`summary.json` under `benchmarks/results/`, then `python benchmarks/report.py`, which writes
this page from `summary.json`.
"""
    )
    return "\n".join(parts).rstrip() + "\n"


def load(path: Path) -> dict[str, Any] | None:
    """The summary at ``path``, or ``None`` when there is none yet."""
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the page; 1 when ``--check`` finds it stale."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--summary", type=Path, default=SUMMARY, help="the run's summary.json")
    parser.add_argument("--page", type=Path, default=PAGE, help="the Markdown page to write")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render_page(load(args.summary))
    if args.check:
        current = args.page.read_text() if args.page.exists() else ""
        if current != text:
            print(f"{args.page.name} is stale: run python benchmarks/report.py", file=sys.stderr)
            return 1
        return 0
    args.page.write_text(text)
    print(f"wrote {args.page.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
