"""PDF reports as records (issue 9).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 00:45:00.000000

``reports`` are immutable records (UPDATE, DELETE and TRUNCATE refused by trigger, ENABLE
ALWAYS; the application role holds only SELECT and INSERT). ``report_requests`` is the one
mutable row of a report request: the application may change only its status, message and
time of that change.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"
_NOW = sa.text("transaction_timestamp()")
_KINDS = "kind IN ('analysis', 'dataset', 'audit_trail')"


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False)


def upgrade() -> None:
    op.create_table(
        "report_requests",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_KINDS, name=op.f("ck_report_requests_kind_known")),
        sa.CheckConstraint(
            "status IN ('queued', 'done', 'failed')", name=op.f("ck_report_requests_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_report_requests_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_report_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_requests")),
    )
    op.create_index(
        "ix_report_requests_object", "report_requests", ["object_type", "object_id"], unique=False
    )
    op.create_index(
        op.f("ix_report_requests_requested_by_id"),
        "report_requests",
        ["requested_by_id"],
        unique=False,
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("seal_subject", sa.Text(), nullable=False),
        _created_at(),
        sa.CheckConstraint(_KINDS, name=op.f("ck_reports_kind_known")),
        sa.CheckConstraint(
            "blob_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_reports_blob_sha256_hex")
        ),
        sa.CheckConstraint("page_count >= 1", name=op.f("ck_reports_page_count_positive")),
        sa.ForeignKeyConstraint(
            ["blob_sha256"], ["blobs.sha256"], name=op.f("fk_reports_blob_sha256_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["report_requests.id"], name=op.f("fk_reports_id_report_requests")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_reports_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_reports_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_object", "reports", ["object_type", "object_id"], unique=False)
    op.create_index(op.f("ix_reports_blob_sha256"), "reports", ["blob_sha256"], unique=False)
    op.execute(
        "CREATE TRIGGER reports_immutable BEFORE UPDATE OR DELETE ON reports "
        "FOR EACH ROW EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER reports_no_truncate BEFORE TRUNCATE ON reports "
        "FOR EACH STATEMENT EXECUTE FUNCTION ctvault_refuse_change()"
    )
    op.execute("ALTER TABLE reports ENABLE ALWAYS TRIGGER reports_immutable")
    op.execute("ALTER TABLE reports ENABLE ALWAYS TRIGGER reports_no_truncate")
    op.execute(f"GRANT SELECT, INSERT ON reports TO {APP_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE (status, message, updated_at) ON report_requests TO {APP_ROLE}"
    )


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
