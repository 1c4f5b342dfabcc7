"""Projects and their samples: list, read, create."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Response, url_for
from pydantic import BaseModel, Field

from lims.models import Project, Sample
from lims.services import catalogue, changes
from lims.web import context
from lims.web.api.pagination import PageQuery, paginate
from lims.web.api.parsing import parse_body, parse_query, render
from lims.web.api.routing import CREATED, operation
from lims.web.api.schemas import Body, Page, Text

TAG = "catalogue"
NAME = Field(min_length=1, max_length=catalogue.MAX_NAME_LENGTH)
DESCRIPTION = Field("", max_length=10_000)


class ProjectOut(BaseModel):
    """A project: the unit of access and of GxP scope."""

    id: uuid.UUID
    name: str
    description: str
    is_gxp: bool
    created_by_id: uuid.UUID
    created_at: dt.datetime
    retired: bool
    url: str
    samples_url: str

    @classmethod
    def of(cls, project: Project, *, retired: bool) -> ProjectOut:
        """The API view of a project."""
        return cls(
            retired=retired,
            id=project.id,
            name=project.name,
            description=project.description,
            is_gxp=project.is_gxp,
            created_by_id=project.created_by_id,
            created_at=project.created_at,
            url=url_for("api.get_project", project_id=project.id),
            samples_url=url_for("api.list_samples", project_id=project.id),
        )


class SampleOut(BaseModel):
    """A physical specimen inside one project."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    description: str
    created_by_id: uuid.UUID
    created_at: dt.datetime
    retired: bool
    url: str
    datasets_url: str

    @classmethod
    def of(cls, sample: Sample, *, retired: bool) -> SampleOut:
        """The API view of a sample."""
        return cls(
            retired=retired,
            id=sample.id,
            project_id=sample.project_id,
            name=sample.name,
            description=sample.description,
            created_by_id=sample.created_by_id,
            created_at=sample.created_at,
            url=url_for("api.get_sample", sample_id=sample.id),
            datasets_url=url_for("api.list_datasets", sample_id=sample.id),
        )


class NewRecord(Body):
    """A project or sample to create."""

    name: Text = NAME
    description: Text = DESCRIPTION


def _name_key(record: Project | Sample) -> tuple[str, str]:
    return (record.name.lower(), str(record.id))


@operation("/projects", tag=TAG, response=Page[ProjectOut], query=PageQuery, errors=(400, 422))
def list_projects() -> Response:
    """The projects you may see, by name."""
    page = parse_query(PageQuery)
    ctx = context.service_context()
    items, cursor = paginate(catalogue.list_projects(ctx), _name_key, page, "projects")
    retired = changes.retirements_of(ctx, "project", [p.id for p in items])
    return render(
        Page[ProjectOut](
            items=[ProjectOut.of(p, retired=p.id in retired) for p in items], next_cursor=cursor
        )
    )


@operation(
    "/projects",
    method="POST",
    tag=TAG,
    response=ProjectOut,
    status=CREATED,
    body=NewRecord,
    errors=(400, 403, 409, 422),
)
def create_project() -> Response:
    """Create a project (project managers only; audited)."""
    new = parse_body(NewRecord)
    project = catalogue.create_project(
        context.service_context(), name=new.name, description=new.description
    )
    return render(ProjectOut.of(project, retired=False), CREATED)


@operation("/projects/<uuid:project_id>", tag=TAG, response=ProjectOut, errors=(404,))
def get_project(project_id: uuid.UUID) -> Response:
    """One project."""
    ctx = context.service_context()
    project = catalogue.get_project(ctx, project_id)
    retired = changes.retirement_of(ctx, "project", project.id) is not None
    return render(ProjectOut.of(project, retired=retired))


@operation(
    "/projects/<uuid:project_id>/samples",
    tag=TAG,
    response=Page[SampleOut],
    query=PageQuery,
    errors=(400, 404, 422),
)
def list_samples(project_id: uuid.UUID) -> Response:
    """The samples of a project, by name."""
    page = parse_query(PageQuery)
    ctx = context.service_context()
    found = catalogue.list_samples(ctx, project_id)
    items, cursor = paginate(found, _name_key, page, f"samples:{project_id}")
    retired = changes.retirements_of(ctx, "sample", [s.id for s in items])
    return render(
        Page[SampleOut](
            items=[SampleOut.of(s, retired=s.id in retired) for s in items], next_cursor=cursor
        )
    )


@operation(
    "/projects/<uuid:project_id>/samples",
    method="POST",
    tag=TAG,
    response=SampleOut,
    status=CREATED,
    body=NewRecord,
    errors=(400, 403, 404, 409, 422),
)
def create_sample(project_id: uuid.UUID) -> Response:
    """Create a sample in a project (audited)."""
    new = parse_body(NewRecord)
    ctx = context.service_context()
    project = catalogue.get_project(ctx, project_id)
    sample = catalogue.create_sample(
        ctx, project_name=project.name, name=new.name, description=new.description
    )
    return render(SampleOut.of(sample, retired=False), CREATED)


@operation("/samples/<uuid:sample_id>", tag=TAG, response=SampleOut, errors=(404,))
def get_sample(sample_id: uuid.UUID) -> Response:
    """One sample."""
    ctx = context.service_context()
    sample = catalogue.get_sample(ctx, sample_id)
    retired = changes.retirement_of(ctx, "sample", sample.id) is not None
    return render(SampleOut.of(sample, retired=retired))
