"""A child process for the crash test: fires commands in a loop until it is killed.

Usage: ``python _crash_child.py URL SEED``. Opens its own cases and moves them on hold and
back, each command with an idempotency key. After each commit returns it prints
``<case id> <version>`` and flushes, so every line the parent reads is a committed command.
"""

from __future__ import annotations

import random
import sys
from datetime import timedelta

import structlog

from psirf_flow import Actor, Engine, Role
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXECUTIVE = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
LIMIT = 5_000


def main() -> None:
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())  # keep stdout clean
    url, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    clock = ManualClock()
    engine = Engine(SqlStore.open(url), clock=clock)
    held: dict[str, bool] = {}
    for n in range(LIMIT):
        clock.advance(timedelta(seconds=1))
        if len(held) < 3 or rng.random() < 0.15:
            case_id = f"K{seed:03d}-{len(held):04d}"
            outcome = engine.open(
                "psii",
                actor=PSS,
                payload={"incident_ids": ["INC-1"]},
                case_id=case_id,
                idempotency_key=f"{case_id}-open",
            )
            held[case_id] = False
        else:
            case_id = rng.choice(sorted(held))
            trigger = "resume" if held[case_id] else "hold"
            payload = {} if held[case_id] else {"hold_reason": "other"}
            outcome = engine.fire(
                case_id,
                trigger,
                actor=EXECUTIVE,
                payload=payload,
                idempotency_key=f"{seed}-{n}",
            )
            held[case_id] = not held[case_id]
        print(f"{case_id} {outcome.case.version}", flush=True)


if __name__ == "__main__":
    main()
