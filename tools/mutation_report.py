"""Write the mutation-testing report and fail when a module's score is too low.

Run by ``make mutation`` after ``mutmut run``. It reads mutmut's results from ``mutants/``
(one ``<source>.meta`` JSON file per mutated module, ``exit_code_by_key`` giving each
mutant's outcome), merges in the mutants judged equivalent in
``tools/mutation-equivalents.toml`` and writes ``mutation-report.md``: the score of each
module and every surviving mutant with its diff, either marked equivalent (with the reason)
or unexplained.

The audit package is mutated module by module (``audit/canonical.py``, ``entries.py``,
``keys.py``, ``verify.py``, ``checkpoint.py``); each module gets its own row and score, and
a ``psirf_flow.audit`` row sums them (:data:`PACKAGES`).

The score of a module is ``killed / (mutants - equivalents - skipped)``; a mutant that
timed out or was caught by the type checker counts as killed. The run fails (exit status 1)
when any module scores below ``--min-score`` (95 by default), when a surviving or untested
mutant is not listed as equivalent, or when a mutant was never checked.

An equivalent is recorded by the mutant's name and by the text the mutation puts in the
code (the ``+`` lines of ``mutmut show``), so an entry whose mutant now means something else
(mutmut numbers mutants per function, and the numbers move when the function changes) stops
matching and the survivor shows up as unexplained again.

Usage:

```
python tools/mutation_report.py [--modules GLOB ...] [--min-score 95] [--output PATH]
```
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tools" / "mutation-equivalents.toml"
KILLED_CODES = frozenset({1, 3, 36, 37, -24, 24, 152, 255})
SURVIVED_CODES = frozenset({0})
NO_TESTS_CODES = frozenset({5, 33})
SKIPPED_CODES = frozenset({34})
#: Packages whose modules are mutated one by one and also reported as a whole.
PACKAGES = ("src/psirf_flow/audit/",)


@dataclass
class Equivalent:
    """A surviving mutant judged equivalent: it cannot change any observable behaviour."""

    mutant: str
    mutation: str
    reason: str


@dataclass
class Survivor:
    """A mutant no test killed: its outcome, its diff and, if judged so, why it is equivalent."""

    name: str
    outcome: str
    diff: str
    equivalent: Equivalent | None = None
    stale: bool = False


@dataclass
class ModuleResult:
    """The outcome of every mutant of one module."""

    path: str
    total: int = 0
    killed: int = 0
    skipped: int = 0
    not_checked: int = 0
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def equivalents(self) -> int:
        """How many survivors are judged equivalent."""
        return sum(1 for s in self.survivors if s.equivalent is not None)

    @property
    def unexplained(self) -> list[Survivor]:
        """Survivors not listed as equivalent (or listed for another mutation)."""
        return [s for s in self.survivors if s.equivalent is None]

    @property
    def score(self) -> float:
        """Killed mutants as a percentage of those that can be killed."""
        counted = self.total - self.equivalents - self.skipped
        return 100.0 if counted <= 0 else 100.0 * self.killed / counted

    @property
    def raw_score(self) -> float:
        """Killed mutants as a percentage of all, equivalents included."""
        counted = self.total - self.skipped
        return 100.0 if counted <= 0 else 100.0 * self.killed / counted


def package_totals(results: list[ModuleResult]) -> list[ModuleResult]:
    """One summed result per package of :data:`PACKAGES` that has mutated modules."""
    totals = []
    for package in PACKAGES:
        members = [m for m in results if m.path.startswith(package)]
        if not members:
            continue
        total = ModuleResult(package.rstrip("/"))
        for m in members:
            total.total += m.total
            total.killed += m.killed
            total.skipped += m.skipped
            total.not_checked += m.not_checked
            total.survivors += m.survivors
        totals.append(total)
    return totals


def _mutated_paths() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def _module_name(path: str) -> str:
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, Equivalent]:
    """The equivalents file's entries by mutant name."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = [Equivalent(**row) for row in data.get("equivalent", [])]
    return {e.mutant: e for e in entries}


def _normalise(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())


def added_lines(diff: str) -> str:
    """The lines a mutation puts in the code: the ``+`` lines of its unified diff."""
    return "\n".join(
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )


def show(mutant: str) -> str:
    """The unified diff of ``mutant``, as ``mutmut show`` prints it."""
    done = subprocess.run(  # noqa: S603 - runs mutmut of this interpreter with a mutant name
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    return "\n".join(line for line in lines if not line.startswith("# "))


def collect(paths: list[str], equivalents: dict[str, Equivalent]) -> list[ModuleResult]:
    """Read mutmut's results for ``paths`` and match the survivors with the equivalents."""
    results = []
    for path in paths:
        module = ModuleResult(path)
        meta = ROOT / "mutants" / (path + ".meta")
        codes: dict[str, int | None] = (
            json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
            if meta.exists()
            else {}
        )
        for name, code in sorted(codes.items(), key=lambda kv: _natural(kv[0])):
            module.total += 1
            if code in KILLED_CODES:
                module.killed += 1
            elif code in SKIPPED_CODES:
                module.skipped += 1
            elif code is None:
                module.not_checked += 1
            else:
                outcome = (
                    "survived"
                    if code in SURVIVED_CODES
                    else "no tests"
                    if code in NO_TESTS_CODES
                    else f"suspicious (exit {code})"
                )
                module.survivors.append(_survivor(name, outcome, equivalents.get(name)))
        results.append(module)
    return results


def _survivor(name: str, outcome: str, entry: Equivalent | None) -> Survivor:
    diff = show(name)
    survivor = Survivor(name, outcome, diff)
    if entry is not None:
        if _normalise(entry.mutation) == _normalise(added_lines(diff)):
            survivor.equivalent = entry
        else:
            survivor.stale = True
    return survivor


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (name, 0)


def render(results: list[ModuleResult], min_score: float, unused: list[str]) -> str:
    """The Markdown report."""
    total = sum(m.total for m in results)
    lines = [
        "# Mutation testing report",
        "",
        f"Written by `tools/mutation_report.py` after `mutmut run`: {total} mutants. A module "
        f"passes at {min_score:g} % or more once equivalent mutants are set aside, with no "
        "unexplained survivor.",
        "",
        "| Module | Mutants | Killed | Equivalent | Unexplained | Not checked | Score | Raw |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results + package_totals(results):
        lines.append(
            f"| `{_module_name(m.path)}` | {m.total} | {m.killed} | {m.equivalents} | "
            f"{len(m.unexplained)} | {m.not_checked} | {m.score:.1f} % | {m.raw_score:.1f} % |"
        )
    for m in results:
        if not m.survivors:
            continue
        lines += ["", f"## `{_module_name(m.path)}`", ""]
        for s in m.survivors:
            if s.equivalent is not None:
                verdict = f"equivalent: {s.equivalent.reason}"
            elif s.stale:
                verdict = "**unexplained** (listed as equivalent for a different mutation)"
            else:
                verdict = f"**unexplained** ({s.outcome})"
            lines += [f"### `{s.name}`", "", verdict, "", "```diff", s.diff, "```", ""]
    if unused:
        lines += ["", "## Equivalents no longer surviving", ""]
        lines += [f"- `{name}`" for name in unused]
    return "\n".join(lines).rstrip() + "\n"


def failures(results: list[ModuleResult], min_score: float) -> list[str]:
    """Why the run fails, one line each (empty when it passes)."""
    problems = []
    for m in results:
        name = _module_name(m.path)
        if m.total == 0:
            problems.append(f"{name}: no mutation results (run `mutmut run` first)")
        if m.not_checked:
            problems.append(f"{name}: {m.not_checked} mutants were never checked")
        if m.unexplained:
            problems.append(f"{name}: {len(m.unexplained)} unexplained surviving mutants")
        if m.score < min_score:
            problems.append(f"{name}: score {m.score:.1f} % is below {min_score:g} %")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Write the report; return 1 when a module fails the bar, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modules",
        nargs="*",
        default=None,
        help="glob patterns of source paths to report (default: every mutated module)",
    )
    parser.add_argument("--min-score", type=float, default=95.0)
    parser.add_argument("--output", type=Path, default=ROOT / "mutation-report.md")
    args = parser.parse_args(argv)

    paths = _mutated_paths()
    if args.modules:
        paths = [p for p in paths if any(fnmatch.fnmatch(p, g) for g in args.modules)]
    equivalents = load_equivalents()
    results = collect(paths, equivalents)
    surviving = {s.name for m in results for s in m.survivors}
    reported = {_module_name(p) for p in paths}
    unused = sorted(
        name
        for name in equivalents
        if name not in surviving and name.rpartition(".x")[0] in reported
    )
    args.output.write_text(render(results, args.min_score, unused), encoding="utf-8")

    for m in results + package_totals(results):
        print(
            f"{_module_name(m.path):45} {m.total:5} mutants  {m.score:6.1f} %"
            f"  ({m.equivalents} equivalent, {len(m.unexplained)} unexplained)"
        )
    problems = failures(results, args.min_score)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    print(f"report written to {args.output.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
