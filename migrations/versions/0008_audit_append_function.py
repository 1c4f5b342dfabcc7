"""Audit events are appended only through one SECURITY DEFINER function.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Written by hand. ``ctvault_audit_append`` takes the chain lock, reads the head, takes the
time from the database clock, builds the event's canonical line exactly as docs/audit.md
defines it (PostgreSQL's to_json escapes strings as Python's json does with
ensure_ascii=False), hashes it with SHA-256 and inserts the row, in one round trip. The
application role loses its direct INSERT on audit_events: it can only append through this
function, so it cannot write an event with a forged time, sequence or hash (P11-08).
Verification recomputes every hash independently in Python.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHAIN_LOCK_KEY = 27994074484403316  # audit.recorder.CHAIN_LOCK_KEY (0x63747661756C74)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION ctvault_audit_append(
            p_actor_id uuid, p_actor_name text, p_action text, p_object_type text,
            p_object_id text, p_changes text, p_reason text, p_context text,
            OUT seq bigint, OUT occurred_at timestamptz, OUT prev_hash text, OUT hash text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE
            v_time text;
            v_line text;
        BEGIN
            IF p_changes::jsonb IS NULL OR jsonb_typeof(p_changes::jsonb) <> 'object'
               OR jsonb_typeof(p_context::jsonb) <> 'object' THEN
                RAISE EXCEPTION 'ctvault: audit changes and context must be JSON objects';
            END IF;
            PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
            SELECT e.seq, e.hash INTO seq, prev_hash
              FROM public.audit_events e ORDER BY e.seq DESC LIMIT 1;
            IF seq IS NULL THEN
                seq := 0;
                prev_hash := repeat('0', 64);
            END IF;
            seq := seq + 1;
            occurred_at := clock_timestamp();
            v_time := to_char(occurred_at AT TIME ZONE 'UTC',
                              'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"');
            v_line := '{{"action":' || to_json(p_action)::text
                || ',"actor_id":' || coalesce(to_json(p_actor_id::text)::text, 'null')
                || ',"actor_name":' || to_json(p_actor_name)::text
                || ',"changes":' || p_changes
                || ',"context":' || p_context
                || ',"object_id":' || to_json(p_object_id)::text
                || ',"object_type":' || to_json(p_object_type)::text
                || ',"occurred_at":"' || v_time
                || '","prev_hash":"' || prev_hash
                || '","reason":' || to_json(p_reason)::text
                || ',"seq":' || seq::text || '}}';
            hash := encode(sha256(convert_to(v_line, 'UTF8')), 'hex');
            INSERT INTO public.audit_events (seq, occurred_at, actor_id, actor_name, action,
                object_type, object_id, changes, reason, context, prev_hash, hash)
            VALUES (seq, occurred_at, p_actor_id, p_actor_name, p_action, p_object_type,
                p_object_id, p_changes, p_reason, p_context, prev_hash, hash);
        END;
        $$
        """
    )
    op.execute(
        "REVOKE ALL ON FUNCTION ctvault_audit_append(uuid, text, text, text, text, text,"
        " text, text) FROM PUBLIC"
    )
    op.execute(
        "GRANT EXECUTE ON FUNCTION ctvault_audit_append(uuid, text, text, text, text,"
        " text, text, text) TO ctvault_app"
    )
    op.execute("REVOKE INSERT ON audit_events FROM ctvault_app")
    op.execute("DROP FUNCTION ctvault_audit_head(bigint)")


def downgrade() -> None:
    raise NotImplementedError("ctvault migrations are forward-only")
