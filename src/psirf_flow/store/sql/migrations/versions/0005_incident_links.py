"""Incident links: each case's link to its incidents, with its retention class.

Every record of an incident is kept as long as the longest of them needs (psirf-rules
§4.5, §7.2); the engine finds an incident's records through this table.

Revision ID: 0005_incident_links
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005_incident_links"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_links",
        sa.Column("organisation", sa.String(128), nullable=False),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("retention_class", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_incident_links_case_id_cases"),
        sa.PrimaryKeyConstraint("organisation", "incident_id", "case_id", name="pk_incident_links"),
    )


def downgrade() -> None:
    raise RuntimeError("psirf_flow migrations are forward-only; restore a backup to go back")
