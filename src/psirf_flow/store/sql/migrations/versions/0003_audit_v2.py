"""Audit v2: each entry's format, the digest of its case, and the id of the key that hashed it.

Existing entries become format 1 (the server default) with no case digest or key, and keep
verifying exactly as before.

Revision ID: 0003_audit_v2
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003_audit_v2"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("format", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("case_digest", sa.Text, nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=True))


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
