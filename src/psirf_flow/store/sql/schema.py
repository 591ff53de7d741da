"""The tables, as SQLAlchemy Core ``Table`` objects on one `metadata`.

Nothing here is ORM-mapped: [`psirf_flow.store.sql.mapping`][psirf_flow.store.sql.mapping] turns
rows into domain records and back, explicitly. The migrations in ``migrations/versions`` build
exactly these tables; a test reflects a migrated database and compares it with
[`metadata`][psirf_flow.store.sql.schema.metadata].

Tables:

* ``cases``: one row per case; ``version`` is checked on every update
  (``WHERE id = :id AND version = :expected``). Indexed by
  ``(workflow, state, organisation, id)`` for host screens and keyset pagination.
* ``audit_entries``: one row per accepted command, ``UNIQUE (case_id, sequence)``; its
  ``format`` (1 before audit v2, 2 after), ``case_digest`` and ``key_id`` (migration
  ``0003_audit_v2``).
* ``idempotency_keys``: one row per key, which is unique.
* ``deadlines``: one row per case, kind and cycle (migration ``0006_deadline_clocks``),
  indexed by ``(status, due_at)``, ``(organisation, status, due_at)`` for overdue lists
  and ``(owner, status)`` for caseloads.
* ``escalations``: one row per tier of a deadline's escalation ladder (its key is the
  deadline's and the tier's number), with the roles to notify (comma-joined codes) and
  the sweeper's claim (``claimed_by``, ``claimed_until``); indexed by
  ``(status, fire_at)``, so claiming what is due costs the rows due, not the cases.
* ``outbox``: messages to deliver after commit; ``message_id`` is unique and ``position``
  gives the order they were written in; a relay finds pending ones by
  ``(delivered_at, position)`` and records each delivery's ``outcome``. Each row names the
  audit entry that caused it (``cause_sequence``, ``cause_hash``) and counts delivery
  ``attempts``; a failed attempt sets ``next_attempt_at`` (back-off) and ``last_error``.
* ``incident_links``: one row per organisation, incident and linked case, with the case's
  retention class; the primary key ``(organisation, incident_id, case_id)`` serves the
  lookup of an incident's records (migration ``0005_incident_links``).

Structured values (facts, payload data, guard results, rule references, message bodies)
are held as JSON text, so both backends store them the same way.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa


__all__ = [
    "AUDIT_ENTRIES",
    "CASES",
    "DEADLINES",
    "ESCALATIONS",
    "IDEMPOTENCY_KEYS",
    "INCIDENT_LINKS",
    "OUTBOX",
    "metadata",
]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint and index names are fixed by convention, so migrations can name them."""

metadata: Final = sa.MetaData(naming_convention=NAMING_CONVENTION)
"""Every table psirf_flow owns."""

_ID = 128
_NAME = 64
_HASH = 64
_STATUS = 16


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


CASES: Final = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.String(_ID), primary_key=True),
    sa.Column("workflow", sa.String(_NAME), nullable=False),
    sa.Column("workflow_version", sa.String(32), nullable=False),
    sa.Column("organisation", sa.String(_ID), nullable=False),
    sa.Column("state", sa.String(_NAME), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("held_from", sa.String(_NAME), nullable=True),
    sa.Column("head_hash", sa.String(_HASH), nullable=False),
    sa.Column("facts", sa.Text, nullable=False),
    _when("opened_at"),
    _when("updated_at"),
    sa.Column("retention_class", sa.String(_NAME), nullable=False, server_default=""),
    sa.Index(None, "workflow", "state", "organisation", "id"),
    sa.Index(None, "organisation", "id"),
    sa.Index(None, "retention_class", "id"),
)
"""One row per case, as it stands after its latest accepted command."""

AUDIT_ENTRIES: Final = sa.Table(
    "audit_entries",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("workflow", sa.String(_NAME), nullable=False),
    sa.Column("workflow_version", sa.String(32), nullable=False),
    sa.Column("trigger", sa.String(_NAME), nullable=False),
    sa.Column("from_state", sa.String(_NAME), nullable=True),
    sa.Column("to_state", sa.String(_NAME), nullable=False),
    sa.Column("actor_id", sa.String(_ID), nullable=False),
    sa.Column("role", sa.String(_NAME), nullable=False),
    sa.Column("organisation", sa.String(_ID), nullable=False),
    sa.Column("guards", sa.Text, nullable=False),
    sa.Column("rules", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    _when("recorded_at"),
    sa.Column("previous_hash", sa.String(_HASH), nullable=False),
    sa.Column("hash", sa.String(_HASH), nullable=False),
    sa.Column("format", sa.Integer, nullable=False, server_default="1"),
    sa.Column("case_digest", sa.Text, nullable=True),
    sa.Column("key_id", sa.String(_NAME), nullable=True),
    sa.UniqueConstraint("case_id", "sequence"),
)
"""The audit trail: one row per accepted command, numbered per case without gaps."""

IDEMPOTENCY_KEYS: Final = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("fingerprint", sa.String(_HASH), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
)
"""What each idempotency key was first used for."""

DEADLINES: Final = sa.Table(
    "deadlines",
    metadata,
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("kind", sa.String(_NAME), primary_key=True),
    sa.Column("cycle", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("organisation", sa.String(_ID), nullable=False),
    sa.Column("workflow", sa.String(_NAME), nullable=False),
    _when("started_at"),
    sa.Column("due_date", sa.Date, nullable=True),
    _when("due_at"),
    sa.Column("status", sa.String(_STATUS), nullable=False),
    sa.Column("owner", sa.String(_ID), nullable=True),
    sa.Column("ladder", sa.String(_NAME), nullable=True),
    sa.Column("tier", sa.Integer, nullable=False),
    _when("paused_at", nullable=True),
    _when("met_at", nullable=True),
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "organisation", "status", "due_at"),
    sa.Index(None, "owner", "status"),
)
"""Due dates, one row per case, kind and cycle, written with the step that sets them."""

ESCALATIONS: Final = sa.Table(
    "escalations",
    metadata,
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("kind", sa.String(_NAME), primary_key=True),
    sa.Column("cycle", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tier", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("stage", sa.String(_STATUS), nullable=False),
    sa.Column("organisation", sa.String(_ID), nullable=False),
    _when("fire_at"),
    sa.Column("notify", sa.Text, nullable=False),
    sa.Column("action", sa.String(_NAME), nullable=True),
    sa.Column("status", sa.String(_STATUS), nullable=False),
    _when("fired_at", nullable=True),
    sa.Column("claimed_by", sa.String(_ID), nullable=True),
    _when("claimed_until", nullable=True),
    sa.Index(None, "status", "fire_at"),
)
"""One row per escalation tier of a deadline; the sweeper claims pending rows by
``(status, fire_at)``."""

OUTBOX: Final = sa.Table(
    "outbox",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("message_id", sa.String(_ID), nullable=False),
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(_NAME), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _when("created_at"),
    _when("delivered_at", nullable=True),
    sa.Column("outcome", sa.String(80), nullable=True),
    sa.Column("cause_sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cause_hash", sa.String(_HASH), nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _when("next_attempt_at", nullable=True),
    sa.Column("last_error", sa.String(80), nullable=True),
    sa.UniqueConstraint("message_id"),
    sa.Index(None, "case_id", "position"),
    sa.Index(None, "delivered_at", "position"),
)
"""Messages to deliver after commit, in the order they were written."""

INCIDENT_LINKS: Final = sa.Table(
    "incident_links",
    metadata,
    sa.Column("organisation", sa.String(_ID), primary_key=True),
    sa.Column("incident_id", sa.String(_ID), primary_key=True),
    sa.Column("case_id", sa.String(_ID), sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("retention_class", sa.String(_NAME), nullable=False),
)
"""Each case's link to each of its incidents, with the retention class the case carries."""
