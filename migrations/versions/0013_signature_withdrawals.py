"""Signature withdrawals (P11-22): a signer's one-way, audited invalidation of a signature.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 04:20:00.000000

``signature_withdrawals`` holds at most one row per signature (its primary key is the
signature's id) and is immutable like ``signatures``: UPDATE, DELETE and TRUNCATE refused
by trigger (ENABLE ALWAYS); the application role holds only SELECT and INSERT.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"
TABLE = "signature_withdrawals"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("signature_id", sa.Uuid(), nullable=False),
        sa.Column("withdrawn_by_id", sa.Uuid(), nullable=False),
        sa.Column("printed_name", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("transaction_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(btrim(reason)) > 0", name=op.f("ck_signature_withdrawals_reason_given")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_signature_withdrawals_signature_id_signatures"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"],
            ["users.id"],
            name=op.f("fk_signature_withdrawals_withdrawn_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("signature_id", name=op.f("pk_signature_withdrawals")),
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_immutable")
    op.execute(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {TABLE}_no_truncate")
    op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {APP_ROLE}")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
