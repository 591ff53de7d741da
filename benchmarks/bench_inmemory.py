"""In-memory benchmarks: transition throughput, memory per open case, opening is linear.

* :func:`throughput`: ``Engine.fire`` on an ``InMemoryStore`` (payload checks, guards, the
  audit entry and its hash, the version check) over the PSII path, against a bare
  ``transitions`` trigger and a bare python-statemachine transition on the same workflow
  shape, plus the pure ``decide`` alone.
* :func:`memory`: bytes per open case held by an ``InMemoryStore`` (tracemalloc), against
  per-case machines of the anchors.
* :func:`opening`: opening N and 10·N cases; the time ratio shows whether it is linear.

Run through ``benchmarks/run.py``; every function returns a :class:`_harness.Result`.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from _harness import Ratio, Result, Row, interleave, timed
from _workload import (
    OPEN_PAYLOAD,
    PATH_TRIGGERS,
    PSII_PATH,
    PSS,
    PlainModel,
    Token,
    new_engine,
    open_cases,
    quiet_logging,
    statemachine_class,
    statemachine_version,
    transitions_machine,
)

from psirf_flow import Command, InMemoryStore, SystemReader, decide, decide_open
from psirf_flow.workflows import PSII


__all__ = ["memory", "opening", "throughput"]

_READER = SystemReader("benchmark")


FIRE = "fire"
DECIDE = "decide"
TRANSITIONS = "transitions"
STATEMACHINE = "statemachine"
MACHINE = "machine"


# ------------------------------------------------------------------ throughput


def _run_fire(cases: int) -> float:
    engine = new_engine()
    ids = open_cases(engine, cases)

    def go() -> None:
        fire = engine.fire
        for case_id in ids:
            for trigger, actor, payload in PSII_PATH:
                fire(case_id, trigger, actor=actor, payload=payload)

    elapsed = timed(go)
    _expect(engine.get(ids[-1], reader=_READER).state == "closed", "fire did not close the case")
    return elapsed


def _run_decide(cases: int) -> float:
    now = _now()
    opening = Command("open", PSS, OPEN_PAYLOAD)
    starts = [
        decide_open(PSII, case_id=f"case-{i}", organisation="RX1", command=opening, now=now).case
        for i in range(cases)
    ]
    commands = [Command(trigger, actor, payload) for trigger, actor, payload in PSII_PATH]
    last: list[Any] = []

    def go() -> None:
        for start in starts:
            case = start
            for command in commands:
                case = decide(PSII, case, command, now=now).case
            last.append(case)

    elapsed = timed(go)
    _expect(last[-1].state == "closed", "decide did not close the case")
    return elapsed


def _run_transitions(cases: int) -> float:
    events = transitions_machine().events
    tokens = [Token(PSII.initial) for _ in range(cases)]

    def go() -> None:
        for token in tokens:
            for trigger in PATH_TRIGGERS:
                if not events[trigger].trigger(token):
                    raise AssertionError(trigger)

    elapsed = timed(go)
    _expect(tokens[-1].state == "closed", "transitions did not close the case")
    return elapsed


def _run_statemachine(cases: int) -> float:
    machine_class = statemachine_class()
    models = [PlainModel(PSII.initial) for _ in range(cases)]
    machines = [machine_class(model=m, state_field="state") for m in models]

    def go() -> None:
        for machine in machines:
            send = machine.send
            for trigger in PATH_TRIGGERS:
                send(trigger)

    elapsed = timed(go)
    _expect(models[-1].state == "closed", "python-statemachine did not close the case")
    return elapsed


def _run_machine(cases: int) -> float:
    """psirf_flow's own state lookup alone (what decide asks: the definition's table)."""
    from psirf_flow.workflows import _machine

    def ok() -> bool:
        return True

    def go() -> None:
        fire = _machine.step
        for _ in range(cases):
            state, held = PSII.initial, None
            for trigger in PATH_TRIGGERS:
                out = fire(PSII, trigger, state=state, held_from=held, evaluate=ok)
                held = state if trigger == "hold" else (held if trigger != "resume" else None)
                state = out.state

    return timed(go)


def _now() -> Any:
    from psirf_flow import SystemClock

    return SystemClock().now()


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


def throughput(cases: int = 300, reps: int = 5) -> Result:
    """Per-transition cost of fire, decide and the anchors, interleaved per repetition."""
    transitions_per_run = cases * len(PSII_PATH)
    psm = statemachine_version()
    runners: dict[str, tuple[str, Callable[[int], float]]] = {
        FIRE: ("Engine.fire, InMemoryStore (guards, audit hash, version)", _run_fire),
        DECIDE: ("decide alone (pure core: payload, guards, audit entry, hash)", _run_decide),
        MACHINE: (
            "psirf_flow's state table alone (what decide asks; transitions checks it)",
            _run_machine,
        ),
        TRANSITIONS: ("bare transitions trigger, unbound, same workflow", _run_transitions),
    }
    result = Result(
        name="inmemory_throughput",
        title=f"In-memory transition throughput: {cases:,} PSII cases x {len(PSII_PATH)} "
        f"commands, median of {reps}",
        params={"cases": cases, "reps": reps, "transitions_per_run": transitions_per_run},
    )
    if psm is not None:
        runners[STATEMACHINE] = (f"bare python-statemachine {psm} transition", _run_statemachine)
    else:
        result.skipped.append(
            "python-statemachine is not installed (pip install python-statemachine)"
        )
    result.rows = [Row(key, label, "µs/transition") for key, (label, _) in runners.items()]
    rows = {r.key: r for r in result.rows}

    def run_one(key: str) -> None:
        rows[key].runs.append(runners[key][1](cases) / transitions_per_run * 1e6)

    with quiet_logging():
        interleave(reps, runners, run_one, label="throughput")
    result.add_ratio(Ratio("fire / transitions", FIRE, TRANSITIONS, 3.0, "<=", "≤ 3x"))
    result.add_ratio(Ratio("fire / python-statemachine", FIRE, STATEMACHINE, 1.0, "<=", "< 1x"))
    result.add_ratio(Ratio("decide / transitions", DECIDE, TRANSITIONS))
    result.add_ratio(Ratio("fire / decide", FIRE, DECIDE))
    result.add_ratio(Ratio("state table / transitions", MACHINE, TRANSITIONS))
    result.notes.append(
        "psirf_flow's logger lets only warnings through (a host logging warnings only); the "
        "engine asks whether INFO is enabled before it builds an event, so it builds none"
    )
    return result


# ------------------------------------------------------------------ memory


def _traced(build: Callable[[], Any]) -> int:
    """Bytes still allocated after ``build()`` (whose result is kept alive meanwhile)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


def _mem_store(n: int) -> Any:
    engine = new_engine(InMemoryStore())
    open_cases(engine, n)
    return engine


def _letters_id(i: int) -> str:
    """A 32-character id (a UUID's length) in letters only: no digit run an id may not hold."""
    return "".join(chr(97 + (i // 26**k) % 26) for k in range(32))


def _mem_cases(n: int) -> Any:
    from psirf_flow import SystemClock

    clock = SystemClock()
    opening = Command("open", PSS, OPEN_PAYLOAD)
    return {
        case.id: case
        for case in (
            decide_open(
                PSII, case_id=_letters_id(i), organisation="RX1", command=opening, now=clock.now()
            ).case
            for i in range(n)
        )
    }


def _mem_models(n: int) -> Any:
    return [PlainModel(PSII.initial) for _ in range(n)]


def _mem_transitions_shared(n: int) -> Any:
    machine = transitions_machine()
    models = []
    for _ in range(n):
        model = PlainModel(PSII.initial)
        machine.add_model(model)
        models.append(model)
    return machine, models


def _mem_transitions_per_case(n: int) -> Any:
    return [transitions_machine(model=PlainModel(PSII.initial)) for _ in range(n)]


def _mem_statemachine(n: int) -> Any:
    machine_class = statemachine_class()
    return [machine_class(model=PlainModel(PSII.initial), state_field="state") for _ in range(n)]


def memory(cases: int = 20_000, anchor_cases: int = 2_000, reps: int = 1) -> Result:
    """Bytes per open case (tracemalloc), psirf_flow at ``cases``, anchors at ``anchor_cases``."""
    plan: list[tuple[str, str, int, Callable[[int], Any]]] = [
        (
            "store",
            "InMemoryStore after engine.open: case + its opening audit entry + store indexes",
            cases,
            _mem_store,
        ),
        ("case_only", "Case records alone, in a dict by id (no audit entry)", cases, _mem_cases),
        (
            "models",
            "anchor model alone (a trivial object: state, held_from)",
            anchor_cases,
            _mem_models,
        ),
        (
            "transitions_shared",
            "transitions: shared Machine + add_model per case",
            anchor_cases,
            _mem_transitions_shared,
        ),
        (
            "transitions_per_case",
            "transitions: one Machine per case",
            anchor_cases,
            _mem_transitions_per_case,
        ),
    ]
    psm = statemachine_version()
    if psm is not None:
        plan.append(
            (
                "statemachine",
                f"python-statemachine {psm}: one instance per case",
                anchor_cases,
                _mem_statemachine,
            )
        )
    result = Result(
        name="inmemory_memory",
        title=f"Memory per open case (tracemalloc): psirf_flow at {cases:,} cases, anchors at "
        f"{anchor_cases:,}",
        params={"cases": cases, "anchor_cases": anchor_cases, "reps": reps},
        rows=[Row(key, f"{label} (N={n:,})", "B/case") for key, label, n, _ in plan],
    )
    if psm is None:
        result.skipped.append("python-statemachine is not installed")
    rows = {r.key: r for r in result.rows}
    steps = {key: (n, build) for key, _, n, build in plan}

    def run_one(key: str) -> None:
        n, build = steps[key]
        rows[key].runs.append(_traced(lambda: build(n)) / n)

    with quiet_logging():
        interleave(reps, steps, run_one, label="memory")
    result.add_ratio(
        Ratio(
            "store bytes per open case / 2 KiB",
            "store",
            "",
            1.0,
            "<=",
            "≤ 1, i.e. ≤ 2 KiB per case",
            divisor=2048.0,
        )
    )
    for key, label in (
        ("transitions_shared", "store / transitions shared Machine"),
        ("transitions_per_case", "store / transitions Machine per case"),
        ("statemachine", "store / python-statemachine instance per case"),
    ):
        result.add_ratio(Ratio(label, "store", key))
    result.notes.extend(
        [
            "tracemalloc counts every block still allocated after building N cases and a "
            "gc.collect(): objects, dicts, strings unique to each case (ids, hashes, "
            "timestamps) and the containers holding them; interned constants shared by all "
            "cases are not per-case cost and vanish in the division",
            "'store' is what an InMemoryStore really holds per case after Engine.open; "
            "'case_only' is the Case record alone (facts mapping included, and the case "
            "digest decide keeps on it: in a store that text is the audit entry's, counted "
            "once)",
            f"anchors are measured at N={anchor_cases:,}: transitions' add_model checks "
            "membership with a list scan, so building is quadratic in N; bytes per case do "
            "not depend on N",
            "the anchors' model is trivial (no facts, no audit): their figures are the cost "
            "of the machinery alone",
        ]
    )
    return result


# ------------------------------------------------------------------ opening


def _open_n(n: int) -> float:
    engine = new_engine(InMemoryStore())
    return timed(lambda: open_cases(engine, n))


def _add_model_n(n: int) -> float:
    machine = transitions_machine()

    def go() -> None:
        for _ in range(n):
            machine.add_model(PlainModel(PSII.initial))

    return timed(go)


def opening(
    small: int = 5_000, factor: int = 10, reps: int = 5, anchor_small: int = 1_000
) -> Result:
    """Time to open ``small`` and ``factor·small`` cases; linear means the ratio ≈ factor."""
    large, anchor_large = small * factor, anchor_small * factor
    plan: dict[str, tuple[str, int, Callable[[int], float]]] = {
        "open_small": (f"Engine.open x {small:,} (InMemoryStore)", small, _open_n),
        "open_large": (f"Engine.open x {large:,} (InMemoryStore)", large, _open_n),
        "add_small": (f"transitions add_model x {anchor_small:,}", anchor_small, _add_model_n),
        "add_large": (f"transitions add_model x {anchor_large:,}", anchor_large, _add_model_n),
    }
    result = Result(
        name="inmemory_opening",
        title=f"Opening N cases: {small:,} vs {large:,}, median of {reps}",
        params={
            "small": small,
            "large": large,
            "anchor_small": anchor_small,
            "anchor_large": anchor_large,
            "reps": reps,
        },
        rows=[Row(key, label, "s") for key, (label, _, _) in plan.items()],
    )
    rows = {r.key: r for r in result.rows}

    def run_one(key: str) -> None:
        _, n, fn = plan[key]
        rows[key].runs.append(fn(n))

    with quiet_logging():
        interleave(reps, plan, run_one, label="opening")
    result.add_ratio(
        Ratio(
            f"open {large:,} / open {small:,}",
            "open_large",
            "open_small",
            1.2 * factor,
            "<=",
            f"≤ {1.2 * factor:.0f}x (linear: {factor}x)",
        )
    )
    result.add_ratio(
        Ratio(
            f"add_model {anchor_large:,} / add_model {anchor_small:,}",
            "add_large",
            "add_small",
            None,
            "<=",
            "",
        )
    )
    per_case = {k: rows[k].median / plan[k][1] * 1e6 for k in plan if rows[k].runs}
    result.notes.append(
        "µs per case: " + ", ".join(f"{plan[k][0]}: {v:.1f}" for k, v in per_case.items())
    )
    result.notes.append(
        "case ids are the engine's default random UUIDs; GC stays on; each run uses a fresh store"
    )
    return result
