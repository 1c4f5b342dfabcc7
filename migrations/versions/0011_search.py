"""Search: one search document per record, kept current by triggers; tags; saved searches.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 00:45:00.000000

``search_documents`` holds one row per project, sample, dataset and run: the text that is
searched (a weighted ``tsvector`` with a GIN index and a short identifier text with a
trigram index) and the columns the catalogue filters and sorts on. The records themselves
are append-only, so the index lives beside them. Triggers on every source table rebuild the
affected documents in the same transaction that changes the record (statement-level, so an
ingest of a thousand files rebuilds its dataset once per batch, not per file). The trigger
functions are SECURITY DEFINER: the application role may read documents but never write
them directly.

Tags are append-only rows, removed by an append-only removal row with a reason (like
retirements). Saved searches are a user's own bookmarks: the application may delete them.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = "ctvault_app"
IMMUTABLE_TABLES = ("tags", "tag_removals")

_CREATED_AT = {
    "server_default": sa.text("transaction_timestamp()"),
    "nullable": False,
}

JSONB_TEXT = r"""
CREATE FUNCTION ctvault_jsonb_text(j jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF j IS NULL THEN
        RETURN '';
    END IF;
    CASE jsonb_typeof(j)
    WHEN 'object' THEN
        RETURN coalesce((SELECT string_agg(k || ': ' || ctvault_jsonb_text(v), '; ' ORDER BY k)
                         FROM jsonb_each(j) AS e(k, v)), '');
    WHEN 'array' THEN
        RETURN coalesce((SELECT string_agg(ctvault_jsonb_text(v), ', ')
                         FROM jsonb_array_elements(j) AS a(v)), '');
    WHEN 'null' THEN
        RETURN '';
    ELSE
        RETURN j #>> '{}';
    END CASE;
END $$
"""

# Words of a path or identifier: separators become spaces so "scan_0001.tif" finds "scan".
WORDS = r"""
CREATE FUNCTION ctvault_words(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT regexp_replace(coalesce(t, ''), '[/\\_.:+-]+', ' ', 'g') $$
"""

PREFIX_QUERY = r"""
CREATE FUNCTION ctvault_prefix_tsquery(t text) RETURNS tsquery
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_tsquery('simple', coalesce(string_agg(
        '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':*', ' & '), ''))
    FROM unnest(to_tsvector('simple', ctvault_words(left(t, 2000))))
$$
"""

SAFE_UUID = r"""
CREATE FUNCTION ctvault_safe_uuid(t text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN t::uuid END
$$
"""

SAFE_DATE = r"""
CREATE FUNCTION ctvault_safe_date(t text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF t ~ '^\d{4}-\d{2}-\d{2}' THEN
        RETURN (left(t, 10)::date)::timestamp AT TIME ZONE 'UTC';
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$
"""

REFRESH_DATASETS = r"""
CREATE FUNCTION ctvault_search_refresh_datasets(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO search_documents AS sd (
        id, kind, project_id, sample_id, dataset_id, title, context, body, tsv, ident,
        modality, instrument, operator, acquired_at, tags, latest_version_id, latest_number,
        version_count, total_bytes, signature_state, review_state, retired, sort_name,
        created_at, updated_at)
    SELECT d.id, 'dataset', p.id, s.id, d.id, d.name, p.name || ' / ' || s.name,
        left(concat_ws(E'\n', d.name, s.name, p.name, array_to_string(tg.labels, ' '),
            lv_operator.name, ctvault_jsonb_text(lv.metadata), nt.text, fl.paths, rn.text), 20000),
        setweight(to_tsvector('simple', ctvault_words(d.name)), 'A')
        || setweight(to_tsvector('simple', ctvault_words(s.name || ' ' || p.name)), 'B')
        || setweight(to_tsvector('simple', coalesce(array_to_string(tg.labels, ' '), '')), 'A')
        || setweight(to_tsvector('simple', coalesce(lv_operator.name, '') || ' '
                     || coalesce(lv_operator.author, '')), 'B')
        || setweight(to_tsvector('simple',
               ctvault_words(left(ctvault_jsonb_text(lv.metadata), 50000))), 'B')
        || setweight(to_tsvector('simple', coalesce(nt.text, '')), 'C')
        || setweight(to_tsvector('simple', ctvault_words(coalesce(fl.paths, ''))), 'C')
        || setweight(to_tsvector('simple', ctvault_words(coalesce(rn.text, ''))), 'D'),
        left(concat_ws(' ', d.name, s.name, p.name, array_to_string(tg.labels, ' ')), 2000),
        coalesce(nullif(lv.metadata ->> 'modality', ''), cn.modality),
        nullif(lv.metadata ->> 'instrument', ''),
        lv_operator.name,
        coalesce(ctvault_safe_date(coalesce(lv.metadata ->> 'acquired_at',
                                            lv.metadata ->> 'acquisition_date')),
                 fv.created_at, d.created_at),
        coalesce(tg.labels, '{}'),
        lv.id, lv.number, coalesce(vc.n, 0), coalesce(lv.total_bytes, 0),
        coalesce(sg.meaning, 'unsigned'), coalesce(rv.status, 'none'),
        EXISTS (SELECT 1 FROM retirements r
                WHERE (r.object_type = 'dataset' AND r.object_id = d.id)
                   OR (r.object_type = 'sample' AND r.object_id = s.id)
                   OR (r.object_type = 'project' AND r.object_id = p.id)),
        lower(d.name), d.created_at, transaction_timestamp()
    FROM datasets d
    JOIN samples s ON s.id = d.sample_id
    JOIN projects p ON p.id = s.project_id
    LEFT JOIN LATERAL (SELECT v.* FROM dataset_versions v WHERE v.dataset_id = d.id
                       ORDER BY v.number DESC LIMIT 1) lv ON true
    LEFT JOIN LATERAL (SELECT v.created_at FROM dataset_versions v WHERE v.dataset_id = d.id
                       ORDER BY v.number LIMIT 1) fv ON true
    LEFT JOIN LATERAL (SELECT count(*) AS n FROM dataset_versions v
                       WHERE v.dataset_id = d.id) vc ON true
    LEFT JOIN LATERAL (SELECT coalesce(nullif(lv.metadata ->> 'operator', ''),
                                       u.display_name) AS name,
                              u.display_name || ' ' || u.username AS author
                       FROM users u WHERE u.id = lv.author_id) lv_operator ON true
    LEFT JOIN LATERAL (SELECT string_agg(f.path, ' ' ORDER BY f.path) AS paths
                       FROM (SELECT path FROM version_files WHERE version_id = lv.id
                             ORDER BY path LIMIT 2000) f) fl ON true
    LEFT JOIN LATERAL (SELECT string_agg(n.body, E'\n' ORDER BY n.created_at) AS text
                       FROM notes n
                       WHERE (n.object_type = 'dataset' AND n.object_id = d.id)
                          OR (n.object_type = 'dataset_version' AND n.object_id IN
                              (SELECT v.id FROM dataset_versions v WHERE v.dataset_id = d.id))
                      ) nt ON true
    LEFT JOIN LATERAL (SELECT array_agg(DISTINCT t.label ORDER BY t.label) AS labels
                       FROM tags t WHERE t.dataset_id = d.id
                        AND NOT EXISTS (SELECT 1 FROM tag_removals x WHERE x.tag_id = t.id)
                      ) tg ON true
    LEFT JOIN LATERAL (SELECT CASE
                           WHEN jsonb_array_length(vd.attributes -> 'shape') >= 3
                                AND (vd.attributes -> 'shape' ->> 0)::bigint > 1 THEN 'volume'
                           ELSE 'image' END AS modality
                       FROM version_derivatives vd
                       WHERE vd.version_id = lv.id AND vd.kind = 'canonical'
                         AND jsonb_typeof(vd.attributes -> 'shape') = 'array') cn ON true
    LEFT JOIN LATERAL (SELECT concat_ws(' ', w.name, ctvault_jsonb_text(r.steps),
                                        ctvault_jsonb_text(rr.scalars), r.reason) AS text
                       FROM runs r JOIN workflows w ON w.id = r.workflow_id
                       LEFT JOIN run_results rr ON rr.run_id = r.id
                       WHERE r.id = ctvault_safe_uuid(lv.metadata ->> 'run_id')) rn ON true
    LEFT JOIN LATERAL (SELECT sig.meaning FROM signatures sig
                       WHERE sig.record_type = 'dataset_version' AND sig.record_id = lv.id::text
                       ORDER BY sig.signed_at DESC LIMIT 1) sg ON true
    LEFT JOIN LATERAL (SELECT a.status FROM analyses a
                       JOIN analysis_revisions ar ON ar.analysis_id = a.id
                        AND ar.revision = a.current_revision
                       WHERE ar.dataset_versions ?| ARRAY(SELECT v.id::text FROM dataset_versions v
                                                         WHERE v.dataset_id = d.id)
                       ORDER BY array_position(ARRAY['approved', 'reviewed', 'submitted',
                                                     'draft'], a.status::text)
                       LIMIT 1) rv ON true
    WHERE d.id = ANY(ids)
    ON CONFLICT (id) DO UPDATE SET
        signature_state = excluded.signature_state, review_state = excluded.review_state,
        project_id = excluded.project_id, sample_id = excluded.sample_id,
        title = excluded.title, context = excluded.context, body = excluded.body,
        tsv = excluded.tsv, ident = excluded.ident, modality = excluded.modality,
        instrument = excluded.instrument, operator = excluded.operator,
        acquired_at = excluded.acquired_at, tags = excluded.tags,
        latest_version_id = excluded.latest_version_id,
        latest_number = excluded.latest_number, version_count = excluded.version_count,
        total_bytes = excluded.total_bytes, retired = excluded.retired,
        sort_name = excluded.sort_name, updated_at = excluded.updated_at;
END $$
"""

REFRESH_CONTAINERS = r"""
CREATE FUNCTION ctvault_search_refresh_containers(project_ids uuid[], sample_ids uuid[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO search_documents AS sd (
        id, kind, project_id, sample_id, title, context, body, tsv, ident, operator,
        acquired_at, retired, sort_name, created_at, updated_at)
    SELECT p.id, 'project', p.id, NULL, p.name, 'Project',
        left(concat_ws(E'\n', p.name, p.description, nt.text), 20000),
        setweight(to_tsvector('simple', ctvault_words(p.name)), 'A')
        || setweight(to_tsvector('simple', coalesce(p.description, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(nt.text, '')), 'C'),
        left(p.name, 2000), NULL, p.created_at,
        EXISTS (SELECT 1 FROM retirements r WHERE r.object_type = 'project'
                AND r.object_id = p.id),
        lower(p.name), p.created_at, transaction_timestamp()
    FROM projects p
    LEFT JOIN LATERAL (SELECT string_agg(n.body, E'\n' ORDER BY n.created_at) AS text
                       FROM notes n WHERE n.object_type = 'project'
                        AND n.object_id = p.id) nt ON true
    WHERE p.id = ANY(project_ids)
    UNION ALL
    SELECT s.id, 'sample', s.project_id, s.id, s.name, p.name,
        left(concat_ws(E'\n', s.name, p.name, s.description, nt.text), 20000),
        setweight(to_tsvector('simple', ctvault_words(s.name)), 'A')
        || setweight(to_tsvector('simple', ctvault_words(p.name)), 'B')
        || setweight(to_tsvector('simple', coalesce(s.description, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(nt.text, '')), 'C'),
        left(s.name || ' ' || p.name, 2000), NULL, s.created_at,
        EXISTS (SELECT 1 FROM retirements r
                WHERE (r.object_type = 'sample' AND r.object_id = s.id)
                   OR (r.object_type = 'project' AND r.object_id = p.id)),
        lower(s.name), s.created_at, transaction_timestamp()
    FROM samples s JOIN projects p ON p.id = s.project_id
    LEFT JOIN LATERAL (SELECT string_agg(n.body, E'\n' ORDER BY n.created_at) AS text
                       FROM notes n WHERE n.object_type = 'sample'
                        AND n.object_id = s.id) nt ON true
    WHERE s.id = ANY(sample_ids)
    ON CONFLICT (id) DO UPDATE SET
        project_id = excluded.project_id, title = excluded.title,
        context = excluded.context, body = excluded.body, tsv = excluded.tsv,
        ident = excluded.ident, retired = excluded.retired, sort_name = excluded.sort_name,
        updated_at = excluded.updated_at;
END $$
"""

REFRESH_RUNS = r"""
CREATE FUNCTION ctvault_search_refresh_runs(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO search_documents AS sd (
        id, kind, project_id, sample_id, title, context, body, tsv, ident, operator,
        acquired_at, status, retired, sort_name, created_at, updated_at)
    SELECT r.id, 'run', r.project_id, r.sample_id,
        w.name || ' v' || w.version || ' run ' || left(r.id::text, 8),
        p.name || ' / ' || s.name,
        left(concat_ws(E'\n', w.name, r.reason, ctvault_jsonb_text(r.steps),
                       ctvault_jsonb_text(rr.scalars), rr.error,
                       u.display_name || ' ' || u.username), 20000),
        setweight(to_tsvector('simple', ctvault_words(w.name || ' ' || r.id::text)), 'A')
        || setweight(to_tsvector('simple', ctvault_words(ctvault_jsonb_text(r.steps))), 'B')
        || setweight(to_tsvector('simple', ctvault_words(
               coalesce(ctvault_jsonb_text(rr.scalars), '') || ' ' || coalesce(rr.error, ''))),
               'B')
        || setweight(to_tsvector('simple', coalesce(r.reason, '') || ' '
                     || u.display_name || ' ' || u.username || ' ' || s.name || ' '
                     || p.name), 'C'),
        left(w.name || ' ' || r.id::text, 2000),
        u.display_name,
        r.created_at, coalesce(rs.status, rr.status),
        false, lower(w.name), r.created_at, transaction_timestamp()
    FROM runs r
    JOIN workflows w ON w.id = r.workflow_id
    JOIN samples s ON s.id = r.sample_id
    JOIN projects p ON p.id = r.project_id
    JOIN users u ON u.id = r.submitted_by_id
    LEFT JOIN run_states rs ON rs.run_id = r.id
    LEFT JOIN run_results rr ON rr.run_id = r.id
    WHERE r.id = ANY(ids)
    ON CONFLICT (id) DO UPDATE SET
        body = excluded.body, tsv = excluded.tsv, status = excluded.status,
        updated_at = excluded.updated_at;
END $$
"""

REFRESH_ANALYSES = r"""
CREATE FUNCTION ctvault_search_refresh_analyses(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO search_documents AS sd (
        id, kind, project_id, title, context, body, tsv, ident, operator, acquired_at,
        status, review_state, retired, sort_name, created_at, updated_at)
    SELECT a.id, 'analysis', a.project_id, ar.title, p.name,
        left(concat_ws(E'\n', ar.title, ar.purpose, ar.results, ar.conclusions), 20000),
        setweight(to_tsvector('simple', ctvault_words(ar.title)), 'A')
        || setweight(to_tsvector('simple', coalesce(ar.purpose, '') || ' '
                     || coalesce(ar.conclusions, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(ar.results, '')), 'C')
        || setweight(to_tsvector('simple', u.display_name || ' ' || u.username || ' '
                     || p.name), 'D'),
        left(ar.title, 2000), u.display_name, a.created_at,
        a.status, a.status, false, lower(ar.title), a.created_at, transaction_timestamp()
    FROM analyses a
    JOIN analysis_revisions ar ON ar.analysis_id = a.id AND ar.revision = a.current_revision
    JOIN projects p ON p.id = a.project_id
    JOIN users u ON u.id = a.created_by_id
    WHERE a.id = ANY(ids)
    ON CONFLICT (id) DO UPDATE SET
        title = excluded.title, body = excluded.body, tsv = excluded.tsv,
        ident = excluded.ident, status = excluded.status, review_state = excluded.review_state,
        sort_name = excluded.sort_name, updated_at = excluded.updated_at;
END $$
"""

# Distinct words of names, codes and tags: typos are corrected against this small vocabulary.
VOCABULARY = r"""
CREATE FUNCTION ctvault_search_words() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM changed c,
        unnest(tsvector_to_array(to_tsvector('simple', ctvault_words(c.ident)))) AS w
    WHERE length(w) >= 3
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$
"""

# Datasets whose versions an analysis's current revision cites.
_ANALYSIS_DATASETS = (
    "SELECT DISTINCT v.dataset_id FROM analysis_revisions ar "
    "CROSS JOIN LATERAL jsonb_array_elements_text(ar.dataset_versions) AS x(version_id) "
    "JOIN dataset_versions v ON v.id = ctvault_safe_uuid(x.version_id) "
    "WHERE ar.analysis_id IN (SELECT {column} FROM changed)"
)

# Each trigger function maps the changed rows to the documents they feed.
TRIGGERS: dict[str, tuple[str, str]] = {
    "datasets_ins": (
        "datasets",
        "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT id FROM changed));",
    ),
    "datasets_upd": (
        "datasets",
        "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT id FROM changed));",
    ),
    "dataset_versions_ins": (
        "dataset_versions",
        "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT DISTINCT dataset_id FROM changed));",
    ),
    "version_files_ins": (
        "version_files",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT DISTINCT v.dataset_id "
            "FROM changed c JOIN dataset_versions v ON v.id = c.version_id));"
        ),
    ),
    "version_derivatives_ins": (
        "version_derivatives",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT DISTINCT v.dataset_id "
            "FROM changed c JOIN dataset_versions v ON v.id = c.version_id "
            "WHERE c.kind = 'canonical'));"
        ),
    ),
    "notes_ins": (
        "notes",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY("
            "SELECT object_id FROM changed WHERE object_type = 'dataset' UNION "
            "SELECT v.dataset_id FROM changed c JOIN dataset_versions v ON v.id = c.object_id "
            "WHERE c.object_type = 'dataset_version'));"
            "PERFORM ctvault_search_refresh_containers("
            "ARRAY(SELECT object_id FROM changed WHERE object_type = 'project'),"
            "ARRAY(SELECT object_id FROM changed WHERE object_type = 'sample'));"
        ),
    ),
    "tags_ins": (
        "tags",
        "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT DISTINCT dataset_id FROM changed));",
    ),
    "tag_removals_ins": (
        "tag_removals",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT DISTINCT t.dataset_id "
            "FROM changed c JOIN tags t ON t.id = c.tag_id));"
        ),
    ),
    "retirements_ins": (
        "retirements",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY("
            "SELECT object_id FROM changed WHERE object_type = 'dataset' UNION "
            "SELECT d.id FROM changed c JOIN datasets d ON d.sample_id = c.object_id "
            "WHERE c.object_type = 'sample' UNION "
            "SELECT d.id FROM changed c JOIN samples s ON s.project_id = c.object_id "
            "JOIN datasets d ON d.sample_id = s.id WHERE c.object_type = 'project'));"
            "PERFORM ctvault_search_refresh_containers("
            "ARRAY(SELECT object_id FROM changed WHERE object_type = 'project'),"
            "ARRAY(SELECT object_id FROM changed WHERE object_type = 'sample' UNION "
            "SELECT s.id FROM changed c JOIN samples s ON s.project_id = c.object_id "
            "WHERE c.object_type = 'project'));"
        ),
    ),
    "projects_ins": (
        "projects",
        "PERFORM ctvault_search_refresh_containers(ARRAY(SELECT id FROM changed), '{}');",
    ),
    "projects_upd": (
        "projects",
        (
            "PERFORM ctvault_search_refresh_containers(ARRAY(SELECT id FROM changed), "
            "ARRAY(SELECT s.id FROM changed c JOIN samples s ON s.project_id = c.id));"
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT d.id FROM changed c "
            "JOIN samples s ON s.project_id = c.id JOIN datasets d ON d.sample_id = s.id));"
        ),
    ),
    "samples_ins": (
        "samples",
        "PERFORM ctvault_search_refresh_containers('{}', ARRAY(SELECT id FROM changed));",
    ),
    "samples_upd": (
        "samples",
        (
            "PERFORM ctvault_search_refresh_containers('{}', ARRAY(SELECT id FROM changed));"
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT d.id FROM changed c "
            "JOIN datasets d ON d.sample_id = c.id));"
        ),
    ),
    "analyses_ins": (
        "analyses",
        "PERFORM ctvault_search_refresh_analyses(ARRAY(SELECT id FROM changed));",
    ),
    "analyses_upd": (
        "analyses",
        (
            "PERFORM ctvault_search_refresh_analyses(ARRAY(SELECT id FROM changed));"
            "PERFORM ctvault_search_refresh_datasets(ARRAY("
            f"{_ANALYSIS_DATASETS.format(column='id')}));"
        ),
    ),
    "analysis_revisions_ins": (
        "analysis_revisions",
        (
            "PERFORM ctvault_search_refresh_analyses(ARRAY(SELECT analysis_id FROM changed));"
            "PERFORM ctvault_search_refresh_datasets(ARRAY("
            f"{_ANALYSIS_DATASETS.format(column='analysis_id')}));"
        ),
    ),
    "signatures_ins": (
        "signatures",
        (
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT v.dataset_id FROM changed c "
            "JOIN dataset_versions v ON v.id = ctvault_safe_uuid(c.record_id) "
            "WHERE c.record_type = 'dataset_version'));"
        ),
    ),
    "runs_ins": ("runs", "PERFORM ctvault_search_refresh_runs(ARRAY(SELECT id FROM changed));"),
    "run_states_ins": (
        "run_states",
        "PERFORM ctvault_search_refresh_runs(ARRAY(SELECT run_id FROM changed));",
    ),
    "run_states_upd": (
        "run_states",
        "PERFORM ctvault_search_refresh_runs(ARRAY(SELECT run_id FROM changed));",
    ),
    "run_results_ins": (
        "run_results",
        (
            "PERFORM ctvault_search_refresh_runs(ARRAY(SELECT run_id FROM changed));"
            "PERFORM ctvault_search_refresh_datasets(ARRAY(SELECT ctvault_safe_uuid(o ->> "
            "'dataset_id') FROM changed c, jsonb_array_elements(c.outputs) o));"
        ),
    ),
}


def _create_tables() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=True),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR(), nullable=False),
        sa.Column("ident", sa.Text(), nullable=False),
        sa.Column("modality", sa.Text(), nullable=True),
        sa.Column("instrument", sa.Text(), nullable=True),
        sa.Column("operator", sa.Text(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("latest_version_id", sa.Uuid(), nullable=True),
        sa.Column("latest_number", sa.Integer(), nullable=True),
        sa.Column("version_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("signature_state", sa.String(length=20), nullable=True),
        sa.Column("review_state", sa.String(length=20), nullable=True),
        sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('project', 'sample', 'dataset', 'run', 'analysis')",
            name=op.f("ck_search_documents_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
    )
    for name, columns in {
        "ix_search_documents_kind_sort_name": ["kind", "sort_name", "id"],
        "ix_search_documents_kind_created_at": ["kind", "created_at", "id"],
        "ix_search_documents_kind_acquired_at": ["kind", "acquired_at", "id"],
        "ix_search_documents_kind_total_bytes": ["kind", "total_bytes", "id"],
        "ix_search_documents_project_id": ["project_id", "kind", "sort_name", "id"],
        "ix_search_documents_sample_id": ["sample_id"],
        "ix_search_documents_modality": ["modality"],
        "ix_search_documents_instrument": ["instrument"],
        "ix_search_documents_operator": ["operator"],
        "ix_search_documents_signature_state": ["signature_state"],
        "ix_search_documents_review_state": ["review_state"],
    }.items():
        op.create_index(name, "search_documents", columns)
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)")
    op.execute("CREATE INDEX ix_search_documents_tags ON search_documents USING gin (tags)")
    op.execute(
        "CREATE INDEX ix_search_documents_ident ON search_documents USING gin (ident gin_trgm_ops)"
    )
    # Lineage: "what was made from this dataset" looks runs up by their input datasets.
    op.execute("CREATE INDEX ix_runs_inputs ON runs USING gin (inputs jsonb_path_ops)")
    # Review state: which analyses cite a dataset's versions.
    op.execute(
        "CREATE INDEX ix_analysis_revisions_dataset_versions ON analysis_revisions "
        "USING gin (dataset_versions)"
    )

    op.create_table(
        "search_words",
        sa.Column("word", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    op.execute("CREATE INDEX ix_search_words_word ON search_words USING gin (word gin_trgm_ops)")
    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("added_by_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), **_CREATED_AT),
        sa.CheckConstraint("length(btrim(label)) > 0", name=op.f("ck_tags_label_given")),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_tags_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_tags_added_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )
    op.create_index("ix_tags_dataset_id", "tags", ["dataset_id"])
    op.create_table(
        "tag_removals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("removed_by_id", sa.Uuid(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), **_CREATED_AT),
        sa.CheckConstraint("length(btrim(reason)) > 0", name=op.f("ck_tag_removals_reason_given")),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_tag_removals_tag_id_tags")),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["users.id"], name=op.f("fk_tag_removals_removed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_removals")),
        sa.UniqueConstraint("tag_id", name=op.f("uq_tag_removals_tag_id")),
    )
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), **_CREATED_AT),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_saved_searches_name_given")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_searches_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_searches_user_id_name")),
    )


def _create_triggers() -> None:
    for name, (table, body) in TRIGGERS.items():
        event = "UPDATE" if name.endswith("_upd") else "INSERT"
        op.execute(
            f"CREATE FUNCTION ctvault_search_{name}() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = pg_catalog, public AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER search_{name} AFTER {event} ON {table} "
            "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
            f"EXECUTE FUNCTION ctvault_search_{name}()"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER search_{name}")
        op.execute(f"REVOKE ALL ON FUNCTION ctvault_search_{name}() FROM PUBLIC")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    _create_tables()
    for ddl in (JSONB_TEXT, WORDS, PREFIX_QUERY, SAFE_UUID, SAFE_DATE):
        op.execute(ddl)
    for ddl in (REFRESH_DATASETS, REFRESH_CONTAINERS, REFRESH_RUNS, REFRESH_ANALYSES):
        op.execute(ddl)
    for function in (
        "ctvault_search_refresh_datasets(uuid[])",
        "ctvault_search_refresh_containers(uuid[], uuid[])",
        "ctvault_search_refresh_runs(uuid[])",
        "ctvault_search_refresh_analyses(uuid[])",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    _create_triggers()
    op.execute(VOCABULARY)
    for event in ("INSERT", "UPDATE"):
        name = f"search_documents_words_{event.lower()}"
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON search_documents "
            "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
            "EXECUTE FUNCTION ctvault_search_words()"
        )
        op.execute(f"ALTER TABLE search_documents ENABLE ALWAYS TRIGGER {name}")
    op.execute("REVOKE ALL ON FUNCTION ctvault_search_words() FROM PUBLIC")
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
    op.execute(f"GRANT SELECT, INSERT, DELETE ON saved_searches TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON search_documents TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON search_words TO {APP_ROLE}")
    # Records that existed before this revision get their documents now.
    op.execute(
        "SELECT ctvault_search_refresh_containers(ARRAY(SELECT id FROM projects), "
        "ARRAY(SELECT id FROM samples))"
    )
    op.execute("SELECT ctvault_search_refresh_datasets(ARRAY(SELECT id FROM datasets))")
    op.execute("SELECT ctvault_search_refresh_runs(ARRAY(SELECT id FROM runs))")
    op.execute("SELECT ctvault_search_refresh_analyses(ARRAY(SELECT id FROM analyses))")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
