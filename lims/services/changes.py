"""Changing records: edits with a reason, retirement instead of deletion, notes, amendments.

Every change records old and new values and the reason in the audit trail (A11-10); a change
without a reason is refused and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import Dataset, DatasetVersion, Note, Project, Retirement, Sample
from lims.services import access
from lims.services.catalogue import validate_name
from lims.services.context import ServiceContext
from lims.services.preparation import schedule_preparation
from lims.storage.versions import FileEntry, commit_version

RETIRABLE = {
    "project": Project,
    "sample": Sample,
    "dataset": Dataset,
    "dataset_version": DatasetVersion,
}
RETIRE_PERMISSION = {
    "project": Permission.PROJECT_MANAGE,
    "sample": Permission.SAMPLE_WRITE,
    "dataset": Permission.DATA_WRITE,
    "dataset_version": Permission.DATA_WRITE,
}
MAX_NOTE_LENGTH = 10_000


def _require_reason(reason: str, what: str) -> str:
    clean = reason.strip()
    if not clean:
        raise UserError(f"{what} needs a reason")
    return clean


def _diff(record: Any, wanted: dict[str, str | None]) -> dict[str, list[Any]]:  # noqa: ANN401
    return {
        field: [getattr(record, field), value]
        for field, value in wanted.items()
        if value is not None and getattr(record, field) != value
    }


def update_project(
    ctx: ServiceContext,
    project_id: uuid.UUID,
    *,
    reason: str,
    name: str | None = None,
    description: str | None = None,
) -> Project:
    """Rename a project or change its description, with a reason.

    Raises:
        UserError: no reason, or nothing would change.
        ConflictError: the new name is taken.
    """
    access.check(ctx, Permission.PROJECT_MANAGE)
    why = _require_reason(reason, "a change")
    project = ctx.uow.session.get(Project, project_id)
    if project is None:
        raise NotFoundError("no such project")
    refuse_if_retired(ctx, ("project", project.id))
    wanted = {
        "name": validate_name(name, "project") if name is not None else None,
        "description": description.strip() if description is not None else None,
    }
    changes = _diff(project, wanted)
    if not changes:
        raise UserError("nothing to change: the values are the same")
    if "name" in changes and ctx.uow.session.scalar(
        select(Project.id).where(
            func.lower(Project.name) == changes["name"][1].lower(), Project.id != project.id
        )
    ):
        raise ConflictError(f"a project named {changes['name'][1]!r} already exists")
    for field, (_, new) in changes.items():
        setattr(project, field, new)
    ctx.uow.session.flush()
    ctx.audit(EventDraft("project.update", "project", str(project.id), changes, reason=why))
    return project


def update_sample(
    ctx: ServiceContext,
    sample_id: uuid.UUID,
    *,
    reason: str,
    name: str | None = None,
    description: str | None = None,
) -> Sample:
    """Rename a sample or change its description, with a reason."""
    why = _require_reason(reason, "a change")
    sample = ctx.uow.session.get(Sample, sample_id)
    access.check_visible(ctx, sample.project_id if sample else None, "sample")
    assert sample is not None  # noqa: S101 - check_visible refused a missing one
    access.check(ctx, Permission.SAMPLE_WRITE, sample.project_id)
    refuse_if_retired(ctx, ("project", sample.project_id), ("sample", sample.id))
    wanted = {
        "name": validate_name(name, "sample") if name is not None else None,
        "description": description.strip() if description is not None else None,
    }
    changes = _diff(sample, wanted)
    if not changes:
        raise UserError("nothing to change: the values are the same")
    if "name" in changes and ctx.uow.session.scalar(
        select(Sample.id).where(
            Sample.project_id == sample.project_id,
            func.lower(Sample.name) == changes["name"][1].lower(),
            Sample.id != sample.id,
        )
    ):
        raise ConflictError(f"the project already has a sample named {changes['name'][1]!r}")
    for field, (_, new) in changes.items():
        setattr(sample, field, new)
    ctx.uow.session.flush()
    ctx.audit(EventDraft("sample.update", "sample", str(sample.id), changes, reason=why))
    return sample


def retire(
    ctx: ServiceContext, object_type: str, object_id: uuid.UUID, *, reason: str
) -> Retirement:
    """Retire a record: it stays readable and in the audit trail, but leaves the lists.

    Raises:
        UserError: no reason, or the type cannot be retired.
        NotFoundError: no such record.
        ConflictError: it is retired already.
    """
    identity = ctx.require_identity()
    why = _require_reason(reason, "retiring a record")
    model = RETIRABLE.get(object_type)
    if model is None:
        raise UserError(f"records of type {object_type!r} cannot be retired")
    session = ctx.uow.session
    project_id = access.project_id_of(session, object_type, object_id)
    access.check_visible(ctx, project_id, object_type.replace("_", " "))
    access.check(ctx, RETIRE_PERMISSION[object_type], project_id)
    if retirement_of(ctx, object_type, object_id) is not None:
        raise ConflictError(f"this {object_type.replace('_', ' ')} is retired already")
    retirement = Retirement(
        object_type=object_type, object_id=object_id, reason=why, retired_by_id=identity.user_id
    )
    session.add(retirement)
    session.flush()
    ctx.audit(
        EventDraft(
            f"{object_type}.retire",
            object_type,
            str(object_id),
            {"retired": [False, True]},
            reason=why,
        )
    )
    return retirement


def retirement_of(ctx: ServiceContext, object_type: str, object_id: uuid.UUID) -> Retirement | None:
    """The retirement of a record, or None while it is active."""
    return ctx.uow.session.scalars(
        select(Retirement).where(
            Retirement.object_type == object_type, Retirement.object_id == object_id
        )
    ).first()


def retirements_of(
    ctx: ServiceContext, object_type: str, object_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Retirement]:
    """The retirements among many records of one type, by record id (for lists)."""
    if not object_ids:
        return {}
    rows = ctx.uow.session.scalars(
        select(Retirement).where(
            Retirement.object_type == object_type, Retirement.object_id.in_(object_ids)
        )
    )
    return {r.object_id: r for r in rows}


def refuse_if_retired(ctx: ServiceContext, *records: tuple[str, uuid.UUID | None]) -> None:
    """Refuse adding to or changing a retired record or anything inside one.

    Args:
        ctx: the caller.
        *records: (type, id) of the record and of its parents (project, sample, dataset).

    Raises:
        ConflictError: naming the retired record.
    """
    wanted = [(t, i) for t, i in records if i is not None]
    if not wanted:
        return
    retired = ctx.uow.session.execute(
        select(Retirement.object_type).where(
            or_(*(and_(Retirement.object_type == t, Retirement.object_id == i) for t, i in wanted))
        )
    ).first()
    if retired is not None:
        what = retired[0].replace("_", " ")
        raise ConflictError(
            f"the {what} is retired: it can be read, but nothing can be added "
            "to it or changed in it"
        )


def amend_metadata(
    ctx: ServiceContext, dataset_id: uuid.UUID, metadata: dict[str, Any], *, reason: str
) -> DatasetVersion:
    """Change a dataset's metadata: a new version with the same files, never an overwrite."""
    identity = ctx.require_identity()
    why = _require_reason(reason, "a metadata change")
    session = ctx.uow.session
    project_id = access.project_id_of(session, "dataset", dataset_id)
    access.check_visible(ctx, project_id, "dataset")
    access.check(ctx, Permission.DATA_WRITE, project_id)
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not dataset.versions:
        raise NotFoundError("no such dataset")
    refuse_if_retired(
        ctx, ("project", project_id), ("sample", dataset.sample_id), ("dataset", dataset.id)
    )
    latest = dataset.versions[-1]
    if latest.metadata_ == metadata:
        raise UserError("nothing to change: the metadata is the same")
    files = [FileEntry(f.path, f.blob_sha256, f.size_bytes) for f in latest.files]
    version = commit_version(
        session, dataset, files=files, author_id=identity.user_id, reason=why, metadata=metadata
    )
    schedule_preparation(ctx, version.id)
    changed = sorted(
        set(latest.metadata_) ^ set(metadata)
        | {k for k in metadata if latest.metadata_.get(k) != metadata.get(k)}
    )
    ctx.audit(
        EventDraft(
            "version.create",
            "dataset_version",
            str(version.id),
            {
                "dataset_id": str(dataset.id),
                "number": version.number,
                "parent_id": str(latest.id),
                "metadata": {k: [latest.metadata_.get(k), metadata.get(k)] for k in changed},
            },
            reason=why,
        )
    )
    return version


def add_note(ctx: ServiceContext, object_type: str, object_id: uuid.UUID, body: str) -> Note:
    """Attach a note to a record (notes are never edited; add another to correct one)."""
    identity = ctx.require_identity()
    text = body.strip()
    if not text:
        raise UserError("a note cannot be empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise UserError(f"a note has at most {MAX_NOTE_LENGTH} characters")
    if object_type not in RETIRABLE:
        raise NotFoundError(f"no such {object_type.replace('_', ' ')}")
    project_id = access.project_id_of(ctx.uow.session, object_type, object_id)
    access.check_visible(ctx, project_id, object_type.replace("_", " "))
    access.check(ctx, Permission.NOTE_WRITE, project_id)
    note = Note(object_type=object_type, object_id=object_id, body=text, author_id=identity.user_id)
    ctx.uow.session.add(note)
    ctx.uow.session.flush()
    ctx.audit(
        EventDraft(
            "note.create",
            object_type,
            str(object_id),
            {"note_id": [None, str(note.id)], "body": [None, text]},
        )
    )
    return note


def notes_of(ctx: ServiceContext, object_type: str, object_id: uuid.UUID) -> list[Note]:
    """The notes on a record, oldest first."""
    access.check_visible(
        ctx,
        access.project_id_of(ctx.uow.session, object_type, object_id),
        object_type.replace("_", " "),
    )
    return list(
        ctx.uow.session.scalars(
            select(Note)
            .where(Note.object_type == object_type, Note.object_id == object_id)
            .order_by(Note.created_at)
        )
    )
