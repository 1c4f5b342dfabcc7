"""Append-only tables: the database refuses UPDATE, DELETE and TRUNCATE (invariant 1).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Written by hand. The trigger fires for every role, including the table owner; only a
superuser who disables the trigger can change these rows, and the verify commands exist to
detect exactly that.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = (
    "blobs",
    "dataset_versions",
    "version_files",
    "audit_events",
    "audit_checkpoints",
    "retirements",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION ctvault_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ctvault: % on % is refused: rows of this table are immutable',
                TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ctvault_refuse_change()"
        )
        # ALWAYS: session_replication_role = replica must not silence the guards.
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_immutable")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
