"""Reopen a psirf_flow database and verify the audit trail of every case in it.

Run as a separate process after the demo (``make demo`` does) to show that what was
committed survives the process that wrote it and still verifies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from psirf_flow import CaseQuery, Engine, SystemClock, SystemReader
from psirf_flow.store.sql import SqlStore


#: This job reads every organisation's cases, so it names itself as a system reader.
VERIFIER = SystemReader("demo-verify")


def verify_all(db_path: Path) -> tuple[int, int]:
    """Verify every case in ``db_path``; return ``(cases checked, cases broken)``."""
    store = SqlStore.open(str(db_path))
    engine = Engine(store, clock=SystemClock())
    checked = broken = 0
    try:
        after: str | None = None
        while True:
            page = engine.list_cases(CaseQuery(after=after, limit=100), reader=VERIFIER)
            for case in page.items:
                result = engine.verify(case.id, reader=VERIFIER)
                checked += 1
                status = (
                    "OK" if result.ok else f"BROKEN at entry {result.first_broken}: {result.reason}"
                )
                print(f"  case {case.id}: {result.entries} entries, state {case.state}: {status}")
                broken += 0 if result.ok else 1
            if page.next_after is None:
                break
            after = page.next_after
    finally:
        store.dispose()
    return checked, broken


def main() -> int:
    """Parse arguments, verify, and exit non-zero if any chain is broken or none exist."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to verify")
    db_path = parser.parse_args().db
    if not db_path.exists():
        print(f"  no database at {db_path}")
        return 1
    checked, broken = verify_all(db_path)
    print(f"  {checked} case(s) checked in a fresh process, {broken} broken")
    return 0 if checked and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
