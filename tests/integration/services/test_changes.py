"""Edits, retirements, metadata amendments and notes: always with a reason, always audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from audit import AuditEvent
from lims.errors import ConflictError, NotFoundError, UserError
from lims.services import catalogue, changes
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import as_project_admin, make_sample, write_volume


def _events(ctx: ServiceContext, object_id: str) -> list[AuditEvent]:
    return list(
        ctx.uow.session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == object_id).order_by(AuditEvent.seq)
        )
    )


@pytest.mark.req("P11-07", "A11-10")
def test_project_edit_records_old_and_new_values_and_reason(ctx: ServiceContext) -> None:
    project = catalogue.create_project(as_project_admin(ctx), name="Battery", description="cells")
    changes.update_project(
        as_project_admin(ctx), project.id, name="Battery 2026", reason="naming convention"
    )
    events = _events(ctx, str(project.id))
    assert [e.action for e in events] == ["project.create", "project.update"]
    update = events[-1]
    assert json.loads(update.changes) == {"name": ["Battery", "Battery 2026"]}
    assert update.reason == "naming convention"
    assert update.actor_id == ctx.require_identity().user_id
    assert update.occurred_at.utcoffset() is not None


@pytest.mark.req("A11-10")
@pytest.mark.parametrize("reason", ["", "   "])
def test_change_without_reason_is_refused_and_changes_nothing(
    ctx: ServiceContext, reason: str
) -> None:
    project = catalogue.create_project(as_project_admin(ctx), name="Battery")
    with pytest.raises(UserError, match="needs a reason"):
        changes.update_project(as_project_admin(ctx), project.id, name="Other", reason=reason)
    with pytest.raises(UserError, match="needs a reason"):
        changes.retire(ctx, "project", project.id, reason=reason)
    assert project.name == "Battery"
    assert len(_events(ctx, str(project.id))) == 1


@pytest.mark.req("P11-04", "AL-06")
def test_retired_record_stays_readable_with_its_history(ctx: ServiceContext) -> None:
    make_sample(ctx)
    sample = catalogue.find_sample(ctx, "Battery", "Cell 7")
    changes.retire(ctx, "sample", sample.id, reason="duplicate entry")
    assert catalogue.get_sample(ctx, sample.id).name == "Cell 7"
    retirement = changes.retirement_of(ctx, "sample", sample.id)
    assert retirement is not None
    assert retirement.reason == "duplicate entry"
    assert [e.action for e in _events(ctx, str(sample.id))] == ["sample.create", "sample.retire"]
    with pytest.raises(ConflictError, match="retired already"):
        changes.retire(ctx, "sample", sample.id, reason="again")
    session = ctx.uow.session
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(text("DELETE FROM retirements"))


@pytest.mark.req("P11-09")
def test_three_metadata_edits_give_four_readable_versions(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    first = ingest_path(
        ctx,
        IngestTarget("Battery", "Cell 7", "scan"),
        write_volume(tmp_path / "v.raw"),
        reason="acquired",
        metadata={"voltage_kv": 80},
    )
    for kv in (90, 100, 110):
        changes.amend_metadata(
            ctx, first.dataset_id, {"voltage_kv": kv}, reason=f"corrected to {kv} kV"
        )
    ctx.uow.commit()
    versions = catalogue.get_dataset(ctx, first.dataset_id).versions
    assert [v.number for v in versions] == [1, 2, 3, 4]
    assert [v.metadata_["voltage_kv"] for v in versions] == [80, 90, 100, 110]
    assert [v.reason for v in versions[1:]] == [f"corrected to {kv} kV" for kv in (90, 100, 110)]
    assert all(v.author_id == ctx.require_identity().user_id for v in versions)
    assert {f.blob_sha256 for v in versions for f in v.files} == {versions[0].files[0].blob_sha256}


def test_notes_are_appended_and_audited(ctx: ServiceContext) -> None:
    project = catalogue.create_project(as_project_admin(ctx), name="Battery")
    changes.add_note(ctx, "project", project.id, "Sample arrived cracked.")
    changes.add_note(ctx, "project", project.id, "Correction: only the lid was cracked.")
    notes = changes.notes_of(ctx, "project", project.id)
    assert [n.body for n in notes] == [
        "Sample arrived cracked.",
        "Correction: only the lid was cracked.",
    ]
    assert _events(ctx, str(project.id))[-1].action == "note.create"
    with pytest.raises(UserError, match="cannot be empty"):
        changes.add_note(ctx, "project", project.id, "  ")
    with pytest.raises(NotFoundError):
        changes.add_note(ctx, "project", ctx.require_identity().user_id, "x")
