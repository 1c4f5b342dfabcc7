"""Notes on records: append-only, readable and insertable by the application role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("transaction_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(body)) > 0", name=op.f("ck_notes_body_given")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_notes_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index("ix_notes_object", "notes", ["object_type", "object_id"], unique=False)
    op.execute(
        "CREATE TRIGGER notes_immutable BEFORE UPDATE OR DELETE ON notes "
        "FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER notes_no_truncate BEFORE TRUNCATE ON notes "
        "FOR EACH STATEMENT EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute("ALTER TABLE notes ENABLE ALWAYS TRIGGER notes_immutable")
    op.execute("ALTER TABLE notes ENABLE ALWAYS TRIGGER notes_no_truncate")
    op.execute("GRANT SELECT, INSERT ON notes TO ctvault_app")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
