"""A host's own table and a psirf_flow step, committed or rolled back in one transaction.

A trust's risk management system keeps its own table of incidents (here
``risk_incidents``: the incident's id, its status in the risk system, and the psirf_flow
case that follows it). When a patient safety specialist starts the intake review, the
host wants its status change and the workflow's step to be one unit of work: both or
neither. ``SqlStore.bind(connection)`` gives psirf_flow the host's connection, so the
case, its audit entry, its deadlines and its outbox messages are written inside the
host's transaction (each change in a SAVEPOINT) and commit or roll back with it.

The script shows three transactions:

1. the incident is recorded in the host's table and its intake case opened: committed;
2. the review starts, but the host then fails (say, its own validation) and the
   transaction rolls back: neither the host's status nor the audit entry survives;
3. a step psirf_flow refuses inside the host's transaction leaves that transaction
   usable; the right step and the host's update then commit together.

It runs on a SQLite file in a temporary directory by default. With ``--url`` it runs on
PostgreSQL (for example ``postgresql+psycopg://user@host:5432/db``), in a schema of its
own that it drops at the end, so it can run again and again on a shared database.

Run it with ``python examples/host_transaction.py [--url URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from psirf_flow import Actor, CommandRejected, Engine, Role, SystemClock, SystemReader
from psirf_flow.store.sql import SqlStore, make_engine, upgrade


TRUST = "RXH"
INCIDENT = "INC-2026-0777"
REPORTER = Actor("rep-41", [Role.REPORTER], TRUST)
SPECIALIST = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
AUDITOR = SystemReader("host-example")

# The host's own schema: its tables live beside psirf_flow's, on their own metadata.
HOST = sa.MetaData()
RISK_INCIDENTS = sa.Table(
    "risk_incidents",
    HOST,
    sa.Column("incident_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("psirf_case_id", sa.String(64), nullable=False),
)


class HostValidationFailed(Exception):
    """The host's own check failed after the workflow step was taken."""


def host_status(db: sa.Engine) -> str | None:
    """The incident's status in the host's table, read in a fresh transaction."""
    with db.connect() as connection:
        found = connection.execute(
            sa.select(RISK_INCIDENTS.c.status).where(RISK_INCIDENTS.c.incident_id == INCIDENT)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def psirf_state(db: sa.Engine) -> tuple[str, int]:
    """The case's state and audit entry count, read through a store of its own."""
    engine = Engine(SqlStore(db), clock=SystemClock())
    case = engine.get(INCIDENT, reader=AUDITOR)
    return case.state, len(engine.history(INCIDENT, reader=AUDITOR))


def show(db: sa.Engine, when: str) -> None:
    """Print what another reader sees in both tables."""
    state, entries = psirf_state(db)
    print(f"  {when}: host status {host_status(db)!r}, case {state!r} with {entries} entries")


def run(db: sa.Engine) -> bool:
    """Run the three transactions against ``db``; True if each did what it should."""
    upgrade(db)  # psirf_flow's tables (its own Alembic history and version table)
    HOST.create_all(db)  # the host's tables (in a real system, the host's migrations)
    clock = SystemClock()

    print("1. Record the incident and open its intake case: one transaction, committed")
    with db.begin() as connection:
        connection.execute(
            sa.insert(RISK_INCIDENTS).values(
                incident_id=INCIDENT, status="reported", psirf_case_id=INCIDENT
            )
        )
        engine = Engine(SqlStore.bind(connection), clock=clock)
        engine.open(
            "incident_intake",
            actor=REPORTER,
            case_id=INCIDENT,
            payload={"incident_id": INCIDENT, "physical_harm": "low"},
        )
    show(db, "after commit")
    first = (host_status(db), psirf_state(db)) == ("reported", ("reported", 1))

    print("2. Start the review, then the host fails: the transaction rolls back both")
    try:
        with db.begin() as connection:
            engine = Engine(SqlStore.bind(connection), clock=clock)
            outcome = engine.fire(INCIDENT, "begin_review", actor=SPECIALIST)
            connection.execute(
                sa.update(RISK_INCIDENTS)
                .where(RISK_INCIDENTS.c.incident_id == INCIDENT)
                .values(status="under_review")
            )
            print(f"  inside the transaction: case {outcome.case.state!r}, host 'under_review'")
            raise HostValidationFailed  # the host's own failure, for the example
    except HostValidationFailed:
        print("  the host's validation failed; the block's exception rolled back")
    show(db, "after rollback")
    second = (host_status(db), psirf_state(db)) == ("reported", ("reported", 1))

    print("3. A refused step leaves the host's transaction usable; the next one commits")
    with db.begin() as connection:
        engine = Engine(SqlStore.bind(connection), clock=clock)
        try:
            engine.fire(INCIDENT, "begin_review", actor=REPORTER)
        except CommandRejected as refused:
            print(f"  refused inside the transaction: {refused.code} ({type(refused).__name__})")
        engine.fire(INCIDENT, "begin_review", actor=SPECIALIST)
        connection.execute(
            sa.update(RISK_INCIDENTS)
            .where(RISK_INCIDENTS.c.incident_id == INCIDENT)
            .values(status="under_review")
        )
    show(db, "after commit")
    third = (host_status(db), psirf_state(db)) == ("under_review", ("under_review", 2))

    verified = Engine(SqlStore(db), clock=clock).verify(INCIDENT, reader=AUDITOR)
    print(f"Audit trail verifies: {verified.ok} ({verified.entries} entries)")
    return first and second and third and verified.ok


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """A URL whose connections use a new PostgreSQL schema, dropped (with its tables) after."""
    server = sa.make_url(url)
    schema = f"psirf_example_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        scoped = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def main() -> int:
    """Parse arguments and run on SQLite (default) or PostgreSQL (``--url``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", help="a PostgreSQL URL (a scratch schema is made and dropped); default SQLite"
    )
    url = parser.parse_args().url
    with tempfile.TemporaryDirectory() as directory:
        context = scratch_schema(url) if url else _sqlite_file(Path(directory))
        with context as target:
            # make_engine sets what SAVEPOINTs need on SQLite; a host's own engine works
            # too if it is configured the same way.
            db = make_engine(target)
            try:
                ok = run(db)
            finally:
                db.dispose()
    print("Both or neither: OK" if ok else "Both or neither: FAILED")
    return 0 if ok else 1


@contextmanager
def _sqlite_file(directory: Path) -> Iterator[str]:
    """A SQLite file in ``directory`` (removed with it)."""
    yield str(directory / "host.sqlite3")


if __name__ == "__main__":
    sys.exit(main())
