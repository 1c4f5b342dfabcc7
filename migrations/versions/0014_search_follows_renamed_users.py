"""Search documents follow a user's new name (a directory rename at login).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 05:00:00.000000

Documents name people: a dataset's operator falls back to the author of its latest version,
runs and analyses show who submitted or wrote them. When a user's display name or username
changes, a statement trigger on ``users`` refreshes the documents of the datasets, runs and
analyses that user made (and their ``operator`` column, which the run and analysis refresh
functions leave alone on update). Other updates of ``users`` (logins, lockouts) find no
renamed row and do nothing.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

RENAMED = (
    "SELECT c.id, c.display_name FROM changed c JOIN before b ON b.id = c.id "
    "WHERE c.display_name IS DISTINCT FROM b.display_name "
    "OR c.username IS DISTINCT FROM b.username"
)

FUNCTION = f"""
CREATE FUNCTION ctvault_search_users_renamed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NOT EXISTS ({RENAMED}) THEN
        RETURN NULL;
    END IF;
    PERFORM ctvault_search_refresh_datasets(ARRAY(
        SELECT DISTINCT v.dataset_id FROM ({RENAMED}) r
        JOIN dataset_versions v ON v.author_id = r.id));
    PERFORM ctvault_search_refresh_runs(ARRAY(
        SELECT x.id FROM ({RENAMED}) r JOIN runs x ON x.submitted_by_id = r.id));
    PERFORM ctvault_search_refresh_analyses(ARRAY(
        SELECT a.id FROM ({RENAMED}) r JOIN analyses a ON a.created_by_id = r.id));
    UPDATE search_documents sd SET operator = r.display_name
    FROM ({RENAMED}) r JOIN runs x ON x.submitted_by_id = r.id
    WHERE sd.id = x.id AND sd.kind = 'run';
    UPDATE search_documents sd SET operator = r.display_name
    FROM ({RENAMED}) r JOIN analyses a ON a.created_by_id = r.id
    WHERE sd.id = a.id AND sd.kind = 'analysis';
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER search_users_renamed AFTER UPDATE ON users "
        "REFERENCING OLD TABLE AS before NEW TABLE AS changed FOR EACH STATEMENT "
        "EXECUTE FUNCTION ctvault_search_users_renamed()"
    )
    op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER search_users_renamed")
    op.execute("REVOKE ALL ON FUNCTION ctvault_search_users_renamed() FROM PUBLIC")


def downgrade() -> None:
    raise NotImplementedError("GxP records are never downgraded; restore from backup instead")
