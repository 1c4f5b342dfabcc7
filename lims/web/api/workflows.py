"""Workflows: ordered, validated processing steps with their parameters (read)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Response, url_for
from pydantic import BaseModel, Field

from lims.models import Workflow
from lims.services import workflows
from lims.web import context
from lims.web.api.pagination import PageQuery, paginate
from lims.web.api.parsing import parse_query, render
from lims.web.api.routing import operation
from lims.web.api.schemas import Page

TAG = "processing"


class WorkflowOut(BaseModel):
    """One immutable workflow version: steps with parameters and wiring."""

    id: uuid.UUID
    name: str
    version: int
    parent_id: uuid.UUID | None
    description: str
    steps: list[dict[str, Any]]
    outputs: list[str]
    resource_class: str
    definition_sha256: str
    created_by_id: uuid.UUID
    created_at: dt.datetime
    url: str

    @classmethod
    def of(cls, workflow: Workflow) -> WorkflowOut:
        """The API view of a workflow version."""
        return cls(
            id=workflow.id,
            name=workflow.name,
            version=workflow.version,
            parent_id=workflow.parent_id,
            description=workflow.description,
            steps=workflow.steps,
            outputs=workflow.outputs,
            resource_class=workflow.resource_class,
            definition_sha256=workflow.definition_sha256,
            created_by_id=workflow.created_by_id,
            created_at=workflow.created_at,
            url=url_for("api.get_workflow", workflow_id=workflow.id),
        )


class WorkflowQuery(PageQuery):
    """Which workflows to list."""

    all_versions: bool = Field(default=False, description="Every version, not only the latest.")


@operation(
    "/workflows", tag=TAG, response=Page[WorkflowOut], query=WorkflowQuery, errors=(400, 422)
)
def list_workflows() -> Response:
    """Workflows by name (the latest version of each unless all_versions)."""
    query = parse_query(WorkflowQuery)
    found = workflows.list_workflows(context.service_context(), all_versions=query.all_versions)
    items, cursor = paginate(
        found,
        lambda w: (w.name.lower(), -w.version, str(w.id)),
        query,
        f"workflows:{query.all_versions}",
    )
    return render(Page[WorkflowOut](items=[WorkflowOut.of(w) for w in items], next_cursor=cursor))


@operation("/workflows/<uuid:workflow_id>", tag=TAG, response=WorkflowOut, errors=(404,))
def get_workflow(workflow_id: uuid.UUID) -> Response:
    """One workflow version."""
    return render(WorkflowOut.of(workflows.get_workflow(context.service_context(), workflow_id)))
