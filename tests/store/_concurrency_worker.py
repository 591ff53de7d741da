"""A worker process for the concurrency test: fires commands on shared cases at random.

Usage: ``python _concurrency_worker.py URL WORKER COMMANDS SEED CASES``. Prints ``ready``,
waits for a line on stdin (so every worker starts together), then fires ``COMMANDS``
``record_engagement`` commands on random cases, each with its own idempotency key, and
prints one JSON object: the accepted commands (case, sequence, key) and the conflicted keys.
"""

from __future__ import annotations

import json
import random
import sys

import structlog

from psirf_flow import Actor, ConcurrencyConflict, Engine, Role
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


def main() -> None:
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())  # keep stdout clean
    url, worker, commands, seed, cases = sys.argv[1:6]
    rng = random.Random(int(seed))
    case_ids = [f"CC-{n:03d}" for n in range(int(cases))]
    actor = Actor(f"el-w{worker}", [Role.ENGAGEMENT_LEAD], "RX1")
    store = SqlStore.open(url)
    engine = Engine(store, clock=ManualClock())
    accepted: list[list[object]] = []
    conflicted: list[str] = []
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(int(commands)):
        case_id = rng.choice(case_ids)
        key = f"w{worker}-{n}"
        outcome = rng.choice(["involved", "declined"])
        try:
            result = engine.fire(
                case_id,
                "record_engagement",
                actor=actor,
                payload={"person_id": "pat-1", "person_kind": "patient", "engagement": outcome},
                idempotency_key=key,
            )
        except ConcurrencyConflict:
            conflicted.append(key)
        else:
            accepted.append([case_id, result.entry.sequence, key])
    store.dispose()
    print(json.dumps({"accepted": accepted, "conflicted": conflicted}), flush=True)


if __name__ == "__main__":
    main()
