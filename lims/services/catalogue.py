"""Projects, samples and datasets: create, change, list and read them."""

from __future__ import annotations

import dataclasses
import uuid
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import Dataset, DatasetVersion, Project, Retirement, Sample, VersionFile
from lims.services import access
from lims.services.context import ServiceContext

MAX_NAME_LENGTH = 200


def validate_name(raw: str, what: str) -> str:
    """Collapse whitespace and check a record name; raise UserError saying what is wrong."""
    name = " ".join(raw.split())
    if not name:
        raise UserError(f"a {what} needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"a {what} name has at most {MAX_NAME_LENGTH} characters")
    if "/" in name:
        raise UserError(f"a {what} name cannot contain '/'")
    return name


def create_project(ctx: ServiceContext, *, name: str, description: str = "") -> Project:
    """Create a project.

    Raises:
        ConflictError: a project with this name exists.
    """
    identity = ctx.require_identity()
    access.check(ctx, Permission.PROJECT_MANAGE)
    clean = validate_name(name, "project")
    session = ctx.uow.session
    if session.scalar(select(Project.id).where(func.lower(Project.name) == clean.lower())):
        raise ConflictError(f"a project named {clean!r} already exists")
    project = Project(name=clean, description=description.strip(), created_by_id=identity.user_id)
    session.add(project)
    _flush_unique(ctx, f"a project named {clean!r} already exists")
    ctx.audit(
        EventDraft(
            action="project.create",
            object_type="project",
            object_id=str(project.id),
            changes={"name": [None, clean], "description": [None, project.description]},
        )
    )
    return project


def create_sample(
    ctx: ServiceContext, *, project_name: str, name: str, description: str = ""
) -> Sample:
    """Create a sample inside an existing project.

    Raises:
        NotFoundError: the project does not exist.
        ConflictError: the project already has a sample with this name.
    """
    identity = ctx.require_identity()
    project = find_project(ctx, project_name)
    access.check(ctx, Permission.SAMPLE_WRITE, project.id)
    if ctx.uow.session.scalar(
        select(Retirement.id).where(
            Retirement.object_type == "project", Retirement.object_id == project.id
        )
    ):
        raise ConflictError("the project is retired: nothing can be added to it")
    clean = validate_name(name, "sample")
    session = ctx.uow.session
    if session.scalar(
        select(Sample.id).where(
            Sample.project_id == project.id, func.lower(Sample.name) == clean.lower()
        )
    ):
        raise ConflictError(f"project {project.name!r} already has a sample named {clean!r}")
    sample = Sample(
        project_id=project.id,
        name=clean,
        description=description.strip(),
        created_by_id=identity.user_id,
    )
    session.add(sample)
    _flush_unique(ctx, f"project {project.name!r} already has a sample named {clean!r}")
    ctx.audit(
        EventDraft(
            action="sample.create",
            object_type="sample",
            object_id=str(sample.id),
            changes={"project_id": [None, str(project.id)], "name": [None, clean]},
        )
    )
    return sample


def _flush_unique(ctx: ServiceContext, message: str) -> None:
    session = ctx.uow.session
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(message) from exc


def find_project(ctx: ServiceContext, name: str) -> Project:
    """A project by name (case-insensitive). Raises NotFoundError if there is none."""
    project = ctx.uow.session.scalars(
        select(Project).where(func.lower(Project.name) == " ".join(name.split()).lower())
    ).first()
    if project is None or not ctx.require_identity().can(Permission.CATALOGUE_READ, project.id):
        raise NotFoundError(f"no project named {name!r}")
    return project


def find_sample(ctx: ServiceContext, project_name: str, sample_name: str) -> Sample:
    """A sample by project and sample name. Raises NotFoundError naming what is missing."""
    project = find_project(ctx, project_name)
    sample = ctx.uow.session.scalars(
        select(Sample).where(
            Sample.project_id == project.id,
            func.lower(Sample.name) == " ".join(sample_name.split()).lower(),
        )
    ).first()
    if sample is None:
        raise NotFoundError(f"project {project.name!r} has no sample named {sample_name!r}")
    return sample


def list_projects(ctx: ServiceContext) -> list[Project]:
    """Every project the caller may see, by name."""
    identity = ctx.require_identity()
    query = select(Project).order_by(func.lower(Project.name))
    if not identity.sees_all_projects():
        query = query.where(Project.id.in_(identity.visible_project_ids()))
    return list(ctx.uow.session.scalars(query))


def get_project(ctx: ServiceContext, project_id: uuid.UUID) -> Project:
    """A project by id. Raises NotFoundError."""
    project = ctx.uow.session.get(Project, project_id)
    access.check_visible(ctx, project.id if project else None, "project")
    assert project is not None  # noqa: S101 - check_visible refused a missing one
    return project


def list_samples(ctx: ServiceContext, project_id: uuid.UUID) -> list[Sample]:
    """The samples of a project, by name."""
    get_project(ctx, project_id)
    return list(
        ctx.uow.session.scalars(
            select(Sample).where(Sample.project_id == project_id).order_by(func.lower(Sample.name))
        )
    )


def get_sample(ctx: ServiceContext, sample_id: uuid.UUID) -> Sample:
    """A sample by id. Raises NotFoundError."""
    sample = ctx.uow.session.get(Sample, sample_id)
    access.check_visible(ctx, sample.project_id if sample else None, "sample")
    assert sample is not None  # noqa: S101 - check_visible refused a missing one
    return sample


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset with the facts a list shows about its latest version."""

    dataset: Dataset
    version_count: int
    latest: DatasetVersion | None


def list_datasets(ctx: ServiceContext, sample_id: uuid.UUID) -> list[DatasetSummary]:
    """The datasets of a sample with their latest version."""
    get_sample(ctx, sample_id)
    datasets = ctx.uow.session.scalars(
        select(Dataset).where(Dataset.sample_id == sample_id).order_by(func.lower(Dataset.name))
    )
    return [
        DatasetSummary(d, len(d.versions), d.versions[-1] if d.versions else None) for d in datasets
    ]


def get_dataset(ctx: ServiceContext, dataset_id: uuid.UUID) -> Dataset:
    """A dataset by id with its versions. Raises NotFoundError."""
    session = ctx.uow.session
    access.check_visible(ctx, access.project_id_of(session, "dataset", dataset_id), "dataset")
    dataset = session.get(Dataset, dataset_id)
    assert dataset is not None  # noqa: S101 - check_visible refused a missing one
    return dataset


def get_version(ctx: ServiceContext, version_id: uuid.UUID) -> DatasetVersion:
    """A dataset version by id with its files. Raises NotFoundError."""
    session = ctx.uow.session
    access.check_visible(
        ctx, access.project_id_of(session, "dataset_version", version_id), "dataset version"
    )
    version = session.get(DatasetVersion, version_id)
    assert version is not None  # noqa: S101 - check_visible refused a missing one
    return version


def open_version_file(ctx: ServiceContext, file_id: uuid.UUID) -> tuple[VersionFile, BinaryIO]:
    """Open one file of a version for download; the read is audited (caller commits).

    Raises:
        NotFoundError: no such file.
        BlobMissingError: the store lost the bytes (an integrity incident).
    """
    session = ctx.uow.session
    project_id = access.project_id_of(session, "version_file", file_id)
    access.check_visible(ctx, project_id, "file")
    access.check(ctx, Permission.DATA_DOWNLOAD, project_id)
    entry = session.get(VersionFile, file_id)
    if entry is None:
        raise NotFoundError("no such file")
    handle = ctx.blobstore.open(entry.blob_sha256)
    ctx.audit(
        EventDraft(
            action="file.download",
            object_type="version_file",
            object_id=str(entry.id),
            changes={
                "version_id": str(entry.version_id),
                "path": entry.path,
                "sha256": entry.blob_sha256,
            },
        )
    )
    return entry, handle
