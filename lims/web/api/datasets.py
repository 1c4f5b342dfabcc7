"""Datasets of a sample, and their immutable versions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Response, url_for
from pydantic import BaseModel

from lims.models import Dataset, DatasetVersion
from lims.services import catalogue, changes
from lims.web import context
from lims.web.api.pagination import PageQuery, paginate
from lims.web.api.parsing import parse_query, render
from lims.web.api.routing import operation
from lims.web.api.schemas import Page

TAG = "catalogue"


class VersionOut(BaseModel):
    """A frozen set of files and metadata; a change is a new version with a parent."""

    id: uuid.UUID
    dataset_id: uuid.UUID
    number: int
    parent_id: uuid.UUID | None
    author_id: uuid.UUID
    author: str
    reason: str
    metadata: dict[str, Any]
    total_bytes: int
    file_count: int
    manifest_sha256: str
    created_at: dt.datetime
    url: str
    files_url: str

    @classmethod
    def of(cls, version: DatasetVersion) -> VersionOut:
        """The API view of a version."""
        return cls(
            id=version.id,
            dataset_id=version.dataset_id,
            number=version.number,
            parent_id=version.parent_id,
            author_id=version.author_id,
            author=f"{version.author.display_name} ({version.author.username})",
            reason=version.reason,
            metadata=version.metadata_,
            total_bytes=version.total_bytes,
            file_count=len(version.files),
            manifest_sha256=version.manifest_sha256,
            created_at=version.created_at,
            url=url_for("api.get_version", version_id=version.id),
            files_url=url_for("api.list_files", version_id=version.id),
        )


class DatasetOut(BaseModel):
    """One scan (or derived result) of a sample, with its latest version."""

    id: uuid.UUID
    sample_id: uuid.UUID
    project_id: uuid.UUID
    name: str
    created_by_id: uuid.UUID
    created_at: dt.datetime
    version_count: int
    latest_version: VersionOut | None
    retired: bool
    url: str
    versions_url: str

    @classmethod
    def of(
        cls, dataset: Dataset, latest: DatasetVersion | None, count: int, *, retired: bool
    ) -> DatasetOut:
        """The API view of a dataset."""
        return cls(
            retired=retired,
            id=dataset.id,
            sample_id=dataset.sample_id,
            project_id=dataset.sample.project_id,
            name=dataset.name,
            created_by_id=dataset.created_by_id,
            created_at=dataset.created_at,
            version_count=count,
            latest_version=VersionOut.of(latest) if latest else None,
            url=url_for("api.get_dataset", dataset_id=dataset.id),
            versions_url=url_for("api.list_versions", dataset_id=dataset.id),
        )


@operation(
    "/samples/<uuid:sample_id>/datasets",
    tag=TAG,
    response=Page[DatasetOut],
    query=PageQuery,
    errors=(400, 404, 422),
)
def list_datasets(sample_id: uuid.UUID) -> Response:
    """The datasets of a sample, by name, each with its latest version."""
    page = parse_query(PageQuery)
    ctx = context.service_context()
    found = catalogue.list_datasets(ctx, sample_id)
    items, cursor = paginate(
        found,
        lambda s: (s.dataset.name.lower(), str(s.dataset.id)),
        page,
        f"datasets:{sample_id}",
    )
    retired = changes.retirements_of(ctx, "dataset", [s.dataset.id for s in items])
    return render(
        Page[DatasetOut](
            items=[
                DatasetOut.of(s.dataset, s.latest, s.version_count, retired=s.dataset.id in retired)
                for s in items
            ],
            next_cursor=cursor,
        )
    )


@operation("/datasets/<uuid:dataset_id>", tag=TAG, response=DatasetOut, errors=(404,))
def get_dataset(dataset_id: uuid.UUID) -> Response:
    """One dataset with its latest version."""
    ctx = context.service_context()
    dataset = catalogue.get_dataset(ctx, dataset_id)
    latest = dataset.versions[-1] if dataset.versions else None
    retired = changes.retirement_of(ctx, "dataset", dataset.id) is not None
    return render(DatasetOut.of(dataset, latest, len(dataset.versions), retired=retired))


@operation(
    "/datasets/<uuid:dataset_id>/versions",
    tag=TAG,
    response=Page[VersionOut],
    query=PageQuery,
    errors=(400, 404, 422),
)
def list_versions(dataset_id: uuid.UUID) -> Response:
    """Every version of a dataset, oldest first (who, when, why)."""
    page = parse_query(PageQuery)
    dataset = catalogue.get_dataset(context.service_context(), dataset_id)
    items, cursor = paginate(
        dataset.versions, lambda v: (v.number,), page, f"versions:{dataset_id}"
    )
    return render(Page[VersionOut](items=[VersionOut.of(v) for v in items], next_cursor=cursor))


@operation("/versions/<uuid:version_id>", tag=TAG, response=VersionOut, errors=(404,))
def get_version(version_id: uuid.UUID) -> Response:
    """One dataset version."""
    return render(VersionOut.of(catalogue.get_version(context.service_context(), version_id)))
