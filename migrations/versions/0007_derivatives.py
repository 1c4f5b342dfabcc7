"""Derived views of versions (canonical array, thumbnails) and their preparation state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Rules: one concern per revision. Triggers and privileges for append-only tables are written
by hand. Never edit a released revision; add a new one. Downgrades are not supported for
GxP data (a downgrade would destroy records), so downgrade() raises.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_derivatives",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("array_digest", sa.String(length=64), nullable=True),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("transaction_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "array_digest IS NULL OR array_digest ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_version_derivatives_array_digest_hex"),
        ),
        sa.CheckConstraint(
            "kind IN ('canonical', 'thumbnail', 'ortho_z', 'ortho_y', 'ortho_x', 'mip')",
            name=op.f("ck_version_derivatives_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["blob_sha256"], ["blobs.sha256"], name=op.f("fk_version_derivatives_blob_sha256_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_version_derivatives_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_derivatives")),
        sa.UniqueConstraint(
            "version_id", "kind", name=op.f("uq_version_derivatives_version_id_kind")
        ),
    )
    op.create_index(
        op.f("ix_version_derivatives_version_id"),
        "version_derivatives",
        ["version_id"],
        unique=False,
    )
    op.create_table(
        "version_preparations",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'ready', 'failed', 'not_an_image')",
            name=op.f("ck_version_preparations_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_version_preparations_version_id_dataset_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_preparations")),
    )
    op.execute(
        "CREATE TRIGGER version_derivatives_immutable BEFORE UPDATE OR DELETE ON "
        "version_derivatives FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute(
        "ALTER TABLE version_derivatives ENABLE ALWAYS TRIGGER version_derivatives_immutable"
    )
    op.execute("GRANT SELECT, INSERT ON version_derivatives TO ctvault_app")
    op.execute("GRANT SELECT, INSERT, UPDATE ON version_preparations TO ctvault_app")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
