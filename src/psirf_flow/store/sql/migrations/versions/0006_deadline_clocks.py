"""Deadline clocks: deadlines per case, kind and cycle, and their escalation tiers.

No release ever wrote a row to the old ``deadlines`` table (the engine set no deadline),
so it is dropped and made again in its new shape: one row per case, kind and cycle (a
reopened case starts a new clock and keeps the old one), with the organisation, workflow,
owner and Europe/London due date that the people-facing queries read. The new
``escalations`` table holds one row per tier of a deadline's ladder, with the sweeper's
claim, indexed by ``(status, fire_at)`` so that claiming what is due costs the rows due,
not the open cases.

Revision ID: 0006_deadline_clocks
Revises: 0005_incident_links
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006_deadline_clocks"
down_revision = "0005_incident_links"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.drop_index("ix_deadlines_status_due_at", table_name="deadlines")
    op.drop_table("deadlines")
    op.create_table(
        "deadlines",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("cycle", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("organisation", sa.String(128), nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        _when("started_at"),
        sa.Column("due_date", sa.Date(), nullable=True),
        _when("due_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("ladder", sa.String(64), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        _when("paused_at", nullable=True),
        _when("met_at", nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_deadlines_case_id_cases"),
        sa.PrimaryKeyConstraint("case_id", "kind", "cycle", name="pk_deadlines"),
    )
    op.create_index("ix_deadlines_status_due_at", "deadlines", ["status", "due_at"])
    op.create_index(
        "ix_deadlines_organisation_status_due_at",
        "deadlines",
        ["organisation", "status", "due_at"],
    )
    op.create_index("ix_deadlines_owner_status", "deadlines", ["owner", "status"])

    op.create_table(
        "escalations",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("cycle", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tier", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("organisation", sa.String(128), nullable=False),
        _when("fire_at"),
        sa.Column("notify", sa.Text(), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _when("fired_at", nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        _when("claimed_until", nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_escalations_case_id_cases"),
        sa.PrimaryKeyConstraint("case_id", "kind", "cycle", "tier", name="pk_escalations"),
    )
    op.create_index("ix_escalations_status_fire_at", "escalations", ["status", "fire_at"])


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
