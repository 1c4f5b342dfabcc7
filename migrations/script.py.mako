"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Rules: one concern per revision. Triggers and privileges for append-only tables are written
by hand. Never edit a released revision; add a new one. Downgrades are not supported for
GxP data (a downgrade would destroy records), so downgrade() raises.
"""

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
