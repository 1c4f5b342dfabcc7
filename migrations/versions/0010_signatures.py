"""Electronic signatures, analyses and their review workflow (issue 7).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 00:45:00.000000

signing_keys, signatures and analysis_revisions are immutable records: UPDATE, DELETE and
TRUNCATE are refused by trigger (ENABLE ALWAYS) and the application role holds only SELECT
and INSERT on them. ``analyses`` is the one mutable row of an analysis: the application may
change only its status, current revision and time of that change.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"
IMMUTABLE_TABLES = ("signing_keys", "signatures", "analysis_revisions")
_NOW = sa.text("transaction_timestamp()")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False)


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("private_pem_encrypted", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("record_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("meaning", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signer_id", sa.Uuid(), nullable=False),
        sa.Column("signer_username", sa.String(length=150), nullable=False),
        sa.Column("printed_name", sa.String(length=300), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "meaning IN ('authored', 'reviewed', 'approved', 'rejected', 'verified')",
            name=op.f("ck_signatures_meaning_known"),
        ),
        sa.CheckConstraint(
            "content_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_signatures_content_sha256_hex")
        ),
        sa.CheckConstraint(
            "meaning <> 'rejected' OR length(btrim(reason)) > 0",
            name=op.f("ck_signatures_reject_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["signing_keys.key_id"], name=op.f("fk_signatures_key_id_signing_keys")
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["users.id"], name=op.f("fk_signatures_signer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    op.create_index("ix_signatures_record", "signatures", ["record_type", "record_id"])
    op.create_index("ix_signatures_signer_id", "signatures", ["signer_id"])
    op.create_table(
        "analyses",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'reviewed', 'approved')",
            name=op.f("ck_analyses_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_analyses_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_analyses_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
    )
    op.create_index("ix_analyses_created_by_id", "analyses", ["created_by_id"])
    op.create_index("ix_analyses_project_id", "analyses", ["project_id"])
    op.create_index("ix_analyses_status_updated_at", "analyses", ["status", "updated_at"])
    op.create_table(
        "analysis_revisions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("analysis_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("conclusions", sa.Text(), nullable=False),
        sa.Column("dataset_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("runs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        _created_at(),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_analysis_revisions_revision_positive")),
        sa.CheckConstraint(
            "length(btrim(title)) > 0", name=op.f("ck_analysis_revisions_title_given")
        ),
        sa.CheckConstraint(
            "content_sha256 ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_analysis_revisions_content_sha256_hex"),
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_analysis_revisions_analysis_id_analyses"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_analysis_revisions_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_revisions")),
        sa.UniqueConstraint(
            "analysis_id", "revision", name=op.f("uq_analysis_revisions_analysis_id_revision")
        ),
    )
    op.create_index("ix_analysis_revisions_analysis_id", "analysis_revisions", ["analysis_id"])
    for table in IMMUTABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ctvault_refuse_change()"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_immutable")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")
        op.execute(f"GRANT SELECT, INSERT ON {table} TO {APP_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE (status, current_revision, updated_at) ON analyses "
        f"TO {APP_ROLE}"
    )


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
