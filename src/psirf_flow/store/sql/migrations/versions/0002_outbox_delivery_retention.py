"""Outbox delivery outcomes and the relay's index; a retention class on every case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("retention_class", sa.String(64), nullable=False, server_default="")
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("outcome", sa.String(80), nullable=True))
    op.create_index("ix_cases_retention_class_id", "cases", ["retention_class", "id"])
    op.create_index("ix_outbox_delivered_at_position", "outbox", ["delivered_at", "position"])


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
