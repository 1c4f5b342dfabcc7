"""The application role: read and append everywhere, change only mutable catalogue rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written by hand. The role ``ctvault_app`` (NOLOGIN) is what the application switches to
after connecting (setting CTVAULT_DB_ROLE). It holds no UPDATE, DELETE or TRUNCATE on any
table whose rows are records, so even a bug or an injected statement in the application
cannot rewrite them; the triggers of 0002 stop the owner as well. Where the migrating role
may not create roles (some managed services), the DBA creates ``ctvault_app`` first.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"
MUTABLE_TABLES = ("users", "projects", "samples", "datasets")
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
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
        END
        $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE INSERT ON alembic_version FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE ON {', '.join(MUTABLE_TABLES)} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
