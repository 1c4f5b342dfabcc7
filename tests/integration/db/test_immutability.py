"""Invariant 1: committed records cannot be changed, by the application role or the owner."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.conftest import as_owner
from tests.factories import make_sample, write_volume

STATEMENTS = [
    "UPDATE dataset_versions SET reason = 'rewritten'",
    "DELETE FROM dataset_versions",
    "UPDATE version_files SET path = 'other.raw'",
    "DELETE FROM version_files",
    "UPDATE blobs SET size_bytes = 1",
    "DELETE FROM blobs",
    "TRUNCATE blobs CASCADE",
    "TRUNCATE dataset_versions CASCADE",
    "UPDATE audit_events SET reason = 'x'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "TRUNCATE audit_checkpoints",
]


@pytest.fixture
def committed(ctx: ServiceContext, tmp_path: Path) -> ServiceContext:
    make_sample(ctx)
    ingest_path(
        ctx,
        IngestTarget("Battery", "Cell 7", "scan"),
        write_volume(tmp_path / "v.raw"),
        reason="r",
    )
    return ctx


@pytest.mark.req("P11-09", "P11-04", "P11-08", "REP-02")
@pytest.mark.parametrize("statement", STATEMENTS)
def test_app_role_holds_no_privilege_to_change_records(
    committed: ServiceContext, statement: str
) -> None:
    session = committed.uow.session
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(text(statement))


@pytest.mark.req("P11-09", "P11-04", "P11-08", "REP-02", "AL-06")
@pytest.mark.parametrize("statement", STATEMENTS)
def test_even_the_owner_is_refused_by_the_triggers(
    committed: ServiceContext, statement: str
) -> None:
    session = committed.uow.session
    with (
        as_owner(session),
        pytest.raises(DBAPIError, match="is refused: rows of this table are immutable"),
        session.begin_nested(),
    ):
        session.execute(text(statement))


@pytest.mark.req("REP-02")
def test_stored_blob_cannot_be_opened_for_writing_by_its_owner_mode(
    committed: ServiceContext,
) -> None:
    blob = next(p for p in (committed.blobstore.root / "blobs").rglob("*") if p.is_file())
    assert blob.stat().st_mode & 0o777 == 0o444


@pytest.mark.req("P11-08")
def test_app_role_cannot_insert_audit_events_directly_only_through_the_function(
    committed: ServiceContext,
) -> None:
    session = committed.uow.session
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(
            text(
                "INSERT INTO audit_events (seq, occurred_at, actor_name, action, object_type,"
                " object_id, changes, reason, context, prev_hash, hash) VALUES (999, now(), 'x',"
                " 'forged', 'x', 'x', '{}', '', '{}', repeat('0', 64), repeat('1', 64))"
            )
        )
    before = session.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
    session.execute(
        text(
            "SELECT * FROM ctvault_audit_append(NULL, 'system:test', 'test.append', 'x', 'y',"
            " '{}', '', '{}')"
        )
    )
    assert session.execute(text("SELECT max(seq) FROM audit_events")).scalar_one() == before + 1


def test_the_lock_key_in_the_append_function_is_the_checkpoint_lock_key() -> None:
    from audit.recorder import CHAIN_LOCK_KEY

    migration = (
        Path(__file__).resolve().parents[3]
        / "migrations"
        / "versions"
        / "0008_audit_append_function.py"
    ).read_text()
    assert f"CHAIN_LOCK_KEY = {CHAIN_LOCK_KEY}" in migration
