"""The initial schema: cases, audit entries, idempotency keys, deadlines and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("workflow_version", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(128), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("held_from", sa.String(64), nullable=True),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        _when("opened_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index(
        "ix_cases_workflow_state_organisation_id",
        "cases",
        ["workflow", "state", "organisation", "id"],
    )
    op.create_index("ix_cases_organisation_id", "cases", ["organisation", "id"])

    op.create_table(
        "audit_entries",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("workflow_version", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(128), nullable=False),
        sa.Column("guards", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _when("recorded_at"),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_audit_entries_case_id_cases"),
        sa.UniqueConstraint("case_id", "sequence", name="uq_audit_entries_case_id_sequence"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_idempotency_keys_case_id_cases"
        ),
    )

    op.create_table(
        "deadlines",
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        _when("due_at"),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "kind", name="pk_deadlines"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_deadlines_case_id_cases"),
    )
    op.create_index("ix_deadlines_status_due_at", "deadlines", ["status", "due_at"])

    op.create_table(
        "outbox",
        sa.Column("position", _serial(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at"),
        _when("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_outbox"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_outbox_case_id_cases"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_case_id_position", "outbox", ["case_id", "position"])


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
