"""Outbox retries and causes: attempts, back-off, last error, and each message's audit entry.

Revision ID: 0004_outbox_retry
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004_outbox_retry"
down_revision = "0003_audit_v2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("cause_sequence", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("cause_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(80), nullable=True))


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
