"""A sweeper process for the multi-process test (run by ``runpy.run_path`` in a spawned child).

The parent passes, as globals: ``URL`` (the database), ``NOW`` (the instant every sweeper
sweeps at, ISO 8601), ``NAME`` (the claimant), ``BATCH``, ``START`` (a barrier every worker
waits on, so they start together) and ``RESULTS`` (a queue). The worker sweeps until a sweep
claims nothing, then puts ``(NAME, fired, skipped, conflicts, failed, sweeps)`` on the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psirf_flow import Engine, Sweeper
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


def sweep_until_idle(arguments: dict[str, Any]) -> tuple[object, ...]:
    """Sweep at ``NOW`` until nothing is claimed; the totals."""
    now = datetime.fromisoformat(arguments["NOW"])
    store = SqlStore.open(arguments["URL"])
    try:
        engine = Engine(store, clock=ManualClock(now))
        sweeper = Sweeper(engine, claimant=arguments["NAME"], batch=arguments["BATCH"])
        arguments["START"].wait(timeout=120)
        fired = skipped = conflicts = failed = sweeps = 0
        while True:
            report = sweeper.sweep(now)
            sweeps += 1
            fired += report.fired
            skipped += report.skipped
            conflicts += report.conflicts
            failed += report.failed
            if report.claimed == 0:
                break
    finally:
        store.dispose()
    return (arguments["NAME"], fired, skipped, conflicts, failed, sweeps)


if __name__ == "__sweeper_worker__":
    RESULTS.put(sweep_until_idle(globals()))  # type: ignore[name-defined]  # noqa: F821
