"""One round trip to take the chain lock and read the head and the clock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Appends are serialised by a transaction-scoped advisory lock held until commit, so every
round trip inside that window costs throughput; this folds three into one.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION ctvault_audit_head(lock_key bigint, OUT head_seq bigint,
                                           OUT head_hash text, OUT now timestamptz)
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            SELECT e.seq, e.hash INTO head_seq, head_hash
              FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
            now := clock_timestamp();
        END;
        $$
        """
    )
    op.execute("GRANT EXECUTE ON FUNCTION ctvault_audit_head(bigint) TO ctvault_app")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
