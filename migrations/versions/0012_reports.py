"""PDF reports as records (issue 9).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 00:45:00.000000
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
