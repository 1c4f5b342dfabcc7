"""Which project a record belongs to, and the checks every use case runs before acting."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lims.auth.identity import require
from lims.auth.roles import Permission
from lims.errors import NotFoundError
from lims.models import Dataset, DatasetVersion, Project, Sample, VersionFile
from lims.services.context import ServiceContext

ACTIONS = {
    Permission.CATALOGUE_READ: "see this record",
    Permission.DATA_DOWNLOAD: "download data of this project",
    Permission.PROJECT_MANAGE: "manage projects",
    Permission.SAMPLE_WRITE: "create or change samples in this project",
    Permission.DATA_WRITE: "add or change data in this project",
    Permission.NOTE_WRITE: "add notes in this project",
    Permission.AUDIT_REVIEW: "review the audit trail",
    Permission.USER_MANAGE: "manage users",
}


def project_id_of(session: Session, object_type: str, object_id: uuid.UUID) -> uuid.UUID | None:
    """The project a record belongs to (None if there is no such record)."""
    query = {
        "project": select(Project.id).where(Project.id == object_id),
        "sample": select(Sample.project_id).where(Sample.id == object_id),
        "dataset": select(Sample.project_id)
        .join(Dataset, Dataset.sample_id == Sample.id)
        .where(Dataset.id == object_id),
        "dataset_version": select(Sample.project_id)
        .join(Dataset, Dataset.sample_id == Sample.id)
        .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
        .where(DatasetVersion.id == object_id),
        "version_file": select(Sample.project_id)
        .join(Dataset, Dataset.sample_id == Sample.id)
        .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
        .join(VersionFile, VersionFile.version_id == DatasetVersion.id)
        .where(VersionFile.id == object_id),
    }.get(object_type)
    return session.scalar(query) if query is not None else None


def check_visible(ctx: ServiceContext, project_id: uuid.UUID | None, what: str) -> None:
    """Refuse, as "not found", a record in a project the caller cannot see.

    Reporting "not found" rather than "forbidden" does not reveal that the record exists.
    """
    identity = ctx.require_identity()
    if project_id is None or not identity.can(Permission.CATALOGUE_READ, project_id):
        raise NotFoundError(f"no such {what}")


def check(ctx: ServiceContext, permission: Permission, project_id: uuid.UUID | None = None) -> None:
    """Refuse unless the caller holds ``permission`` (within ``project_id`` if given).

    Raises:
        PermissionDeniedError: saying what the caller may not do.
    """
    require(ctx.require_identity(), permission, project_id, action=ACTIONS[permission])
