"""A swarm huddle not held in time becomes an after action review; the board sees it late.

An acute trust works under its plan (``examples/plans/acute-trust-with-maternity.toml``):
a swarm huddle is to be held within 24 hours of the incident, and its ``swarm-not-held``
ladder warns the facilitator four hours before that, then, at the deadline, tells the
patient safety specialist and the facilitator and converts the huddle to an after action
review. Nothing here fires anything by hand: the steps write the deadlines, the sweeper
fires the tiers that fall due, and the outbox relay delivers the notifications, applies the
tier's action and opens the after action review. Weeks later the review itself is overdue
and the board report (``psirf_flow.reports``) is printed as JSON.

The cases live in a SQLite file in a temporary directory; a ``ManualClock`` stands in for
the wall clock, so the month runs in a second. Ids are opaque; nothing names a person.

Run it with ``python examples/clocks_and_escalations.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from psirf_flow import Actor, Engine, InMemoryNotifier, Role, Sweeper, SystemReader, reports
from psirf_flow.policy import load_plan_file
from psirf_flow.ports import DeadlineQuery
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


PLAN_FILE = Path(__file__).resolve().parent / "plans" / "acute-trust-with-maternity.toml"
TRUST = "RXA"  # the trust's organisation code, as its plan names it
HUDDLE = "SH-2027-031"
SPECIALIST = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
FACILITATOR = "fac-02"
BOARD = SystemReader("board-report")  # a named batch job: reads every organisation


LONDON = ZoneInfo("Europe/London")


def _local(moment: datetime) -> str:
    """An instant as the trust's staff read it (Europe/London, GMT or BST)."""
    return moment.astimezone(LONDON).strftime("%a %d %b %H:%M %Z")


def _show_clocks(engine: Engine, case_id: str) -> None:
    """Print a case's running deadlines and their pending tiers."""
    for row in engine.find_deadlines(DeadlineQuery(case_ids={case_id}), reader=BOARD):
        ladder = row.ladder or "the default ladder"
        due = "" if row.due_date is None else f"due {row.due_date:%a %d %b}, "
        print(f"  {row.kind:<18} {due}breaches {_local(row.due_at)}  ({ladder})")
    pending = [t for t in engine.store.escalations(case_id) if t.status == "pending"]
    for tier in sorted(pending, key=lambda t: t.fire_at):
        action = f", then {tier.action}" if tier.action else ""
        print(
            f"    {_local(tier.fire_at)}  {tier.kind} tier {tier.tier} ({tier.stage}): "
            f"{', '.join(tier.notify)}{action}"
        )


def _sweep(
    engine: Engine, clock: ManualClock, relay: OutboxRelay, when: datetime, why: str
) -> None:
    """Move the clock to ``when``, sweep once, then run the relay until it is idle."""
    clock.set(when)
    swept = Sweeper(engine).sweep()
    relayed = relay.run_until_idle()
    print(f"\n{_local(when)}: the sweeper fired {swept.fired} tier(s), the relay applied")
    print(f"  {relayed.applied} message(s): {why}")


def _records(items: Sequence[attrs.AttrsInstance]) -> list[dict[str, object]]:
    """Report records as JSON objects: dates and instants as ISO 8601 text."""
    return [
        {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in attrs.asdict(item, recurse=False).items()
        }
        for item in items
    ]


def board_report(engine: Engine, now: datetime) -> dict[str, object]:
    """The board's overdue, due-soon, safety-action and candour lists, as one JSON document."""
    since = now - timedelta(days=90)
    return {
        "generated_at": now.isoformat(),
        "overdue": _records(reports.overdue(engine, reader=BOARD, now=now)),
        "due_soon": _records(reports.due_soon(engine, reader=BOARD, now=now, within=5)),
        "safety_actions": _records(reports.safety_actions(engine, reader=BOARD, now=now)),
        "candour_timeliness": _records(
            reports.candour_timeliness(engine, reader=BOARD, since=since, until=now)
        ),
    }


def run(db_path: Path) -> int:
    """Run the story against a new SQLite file at ``db_path``; return an exit code."""
    plan = load_plan_file(PLAN_FILE)
    store = SqlStore.open(str(db_path), migrate=True)
    clock = ManualClock(datetime(2027, 3, 1, 14, 0, tzinfo=UTC))  # Monday, 14:00 GMT
    engine = Engine(store, clock=clock, plan=plan)
    notifier = InMemoryNotifier()
    relay = OutboxRelay(engine, notifier=notifier, response_types=plan.response_variants())
    try:
        print(f"Under {plan.ref}: a swarm huddle is commissioned and a facilitator named")
        engine.open(
            "swarm_huddle",
            actor=SPECIALIST,
            case_id=HUDDLE,
            payload={"incident_ids": ["INC-2027-0412"], "basis": "local_priority"},
        )
        engine.fire(
            HUDDLE, "assign_facilitator", actor=SPECIALIST, payload={"facilitator_id": FACILITATOR}
        )
        _show_clocks(engine, HUDDLE)

        _sweep(
            engine,
            clock,
            relay,
            datetime(2027, 3, 2, 11, 0, tzinfo=UTC),
            "the facilitator is warned",
        )
        _sweep(
            engine,
            clock,
            relay,
            datetime(2027, 3, 2, 15, 0, tzinfo=UTC),
            "two notifications, the tier's action, the review's opening",
        )
        print("Notifications delivered (ids and roles only):")
        for sent in notifier.sent:
            person = sent.body.get("person_id")
            print(f"  {sent.id}  -> {sent.body['role']}" + (f" ({person})" if person else ""))

        print("\nThe cases now:")
        for case in engine.incident_records("INC-2027-0412", reader=BOARD, organisation=TRUST):
            print(f"  {case.case_id:<16} {case.workflow:<20} {case.state}")
        last = engine.history(HUDDLE, reader=BOARD)[-1]
        print(f"  {HUDDLE}'s last entry: {last.trigger} by {last.actor_id} ({last.role})")
        review = f"{HUDDLE}/aar"
        print("The review's clock: 20 working days (Good Friday and Easter Monday skipped)")
        _show_clocks(engine, review)

        # Five weeks on, nobody has moved the review: its breach tier fires.
        _sweep(
            engine,
            clock,
            relay,
            datetime(2027, 4, 6, 9, 0, tzinfo=UTC),
            "the review is overdue; the specialist is told",
        )
        broken = [c for c in (HUDDLE, review) if not engine.verify(c, reader=BOARD).ok]
        print(f"Audit trails verified: {2 - len(broken)} of 2")
        print("\nBoard report (JSON):")
        print(json.dumps(board_report(engine, clock.now()), indent=2, sort_keys=True))
    finally:
        store.dispose()
    return 1 if broken else 0


def main() -> int:
    """Run the example in a temporary directory."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as directory:
        return run(Path(directory) / "clocks.sqlite3")


if __name__ == "__main__":
    sys.exit(main())
