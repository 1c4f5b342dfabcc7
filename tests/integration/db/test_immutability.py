"""Invariant 1: the database refuses UPDATE, DELETE and TRUNCATE on immutable rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
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
]


@pytest.mark.req("P11-09", "P11-04")
@pytest.mark.parametrize("statement", STATEMENTS)
def test_sql_changing_committed_records_is_refused(
    ctx: ServiceContext, tmp_path: Path, statement: str
) -> None:
    make_sample(ctx)
    ingest_path(
        ctx, IngestTarget("Battery", "Cell 7", "scan"), write_volume(tmp_path / "v.raw"), reason="r"
    )
    session = ctx.uow.session
    with (
        pytest.raises(DBAPIError, match="is refused: rows of this table are immutable"),
        session.begin_nested(),
    ):
        session.execute(text(statement))
