"""Runs: list, read, submit a workflow on dataset versions, replay, cancel."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from flask import Response, url_for
from pydantic import BaseModel, Field, RootModel

from lims.models import Run, RunResult, RunState
from lims.services import runs
from lims.web import context
from lims.web.api.pagination import Key, PageQuery, page_of, time_id_after, time_id_key
from lims.web.api.parsing import parse_body, parse_query, render
from lims.web.api.routing import CREATED, operation
from lims.web.api.schemas import Body, Page, Text

TAG = "processing"
REASON = Field("", max_length=2000)


class ResultOut(BaseModel):
    """How a run ended: environment, outputs with digests, tables, scalars, replay report."""

    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime
    worker_host: str
    peak_memory_bytes: int | None
    environment: dict[str, Any]
    outputs: list[dict[str, Any]]
    tables: dict[str, Any]
    scalars: list[dict[str, Any]]
    replay: dict[str, Any] | None
    error: str

    @classmethod
    def of(cls, result: RunResult) -> ResultOut:
        """The API view of a run's result."""
        return cls(
            status=result.status,
            started_at=result.started_at,
            finished_at=result.finished_at,
            worker_host=result.worker_host,
            peak_memory_bytes=result.peak_memory_bytes,
            environment=result.environment,
            outputs=result.outputs,
            tables=result.tables,
            scalars=result.scalars,
            replay=result.replay,
            error=result.error,
        )


class RunOut(BaseModel):
    """One execution (or replay) of a workflow: the immutable record and where it stands."""

    id: uuid.UUID
    kind: str
    workflow_id: uuid.UUID
    replay_of_id: uuid.UUID | None
    project_id: uuid.UUID
    sample_id: uuid.UUID
    submitted_by_id: uuid.UUID
    is_gxp: bool
    reason: str
    resource_class: str
    inputs: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    outputs_wanted: list[str]
    seed: int
    record_sha256: str
    created_at: dt.datetime
    status: str
    progress: float
    message: str
    result: ResultOut | None
    url: str

    @classmethod
    def of(cls, run: Run, state: RunState, result: RunResult | None = None) -> RunOut:
        """The API view of a run (the result only where it was read)."""
        return cls(
            id=run.id,
            kind=run.kind,
            workflow_id=run.workflow_id,
            replay_of_id=run.replay_of_id,
            project_id=run.project_id,
            sample_id=run.sample_id,
            submitted_by_id=run.submitted_by_id,
            is_gxp=run.is_gxp,
            reason=run.reason,
            resource_class=run.resource_class,
            inputs=run.inputs,
            steps=run.steps,
            outputs_wanted=run.outputs_wanted,
            seed=run.seed,
            record_sha256=run.record_sha256,
            created_at=run.created_at,
            status=state.status,
            progress=state.progress,
            message=state.message,
            result=ResultOut.of(result) if result else None,
            url=url_for("api.get_run", run_id=run.id),
        )


class RunQuery(PageQuery):
    """Which runs to list."""

    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None


class RunOnVersion(Body):
    """A one-input workflow to run on one dataset version."""

    workflow_id: uuid.UUID
    version_id: uuid.UUID
    reason: Text = REASON


class RunOnPorts(Body):
    """A workflow to run on dataset versions given by input port."""

    workflow_id: uuid.UUID
    inputs: dict[str, uuid.UUID] = Field(min_length=1)
    reason: Text = REASON


class NewRun(RootModel[RunOnVersion | RunOnPorts]):
    """A workflow to run: on one version (``version_id``), or on versions by port (``inputs``)."""


class Reason(Body):
    """Why (required to cancel; to replay, optional)."""

    reason: Text = REASON


def _key(row: tuple[Run, RunState]) -> Key:
    return time_id_key(row[0].created_at, row[0].id)


@operation("/runs", tag=TAG, response=Page[RunOut], query=RunQuery, errors=(400, 422))
def list_runs() -> Response:
    """Runs you may see, newest first."""
    query = parse_query(RunQuery)
    scope = f"runs:{query.status}"
    found = runs.list_runs(
        context.service_context(),
        status=query.status,
        limit=query.limit + 1,
        before=time_id_after(query, scope),
    )
    items, cursor = page_of(found, _key, query, scope)
    return render(Page[RunOut](items=[RunOut.of(r, s) for r, s in items], next_cursor=cursor))


@operation("/runs/<uuid:run_id>", tag=TAG, response=RunOut, errors=(404,))
def get_run(run_id: uuid.UUID) -> Response:
    """One run with its state and result."""
    view = runs.get_run(context.service_context(), run_id)
    return render(RunOut.of(view.run, view.state, view.result))


def _created(run: Run) -> Response:
    return render(RunOut.of(run, run.state), CREATED)


@operation(
    "/runs",
    method="POST",
    tag=TAG,
    response=RunOut,
    status=CREATED,
    body=NewRun,
    errors=(400, 403, 404, 409, 422),
)
def submit_run() -> Response:
    """Submit a workflow on dataset versions; it is queued for a worker (audited)."""
    new = parse_body(NewRun).root
    inputs = new.version_id if isinstance(new, RunOnVersion) else new.inputs
    run = runs.submit(context.service_context(), new.workflow_id, inputs, reason=new.reason)
    return _created(run)


@operation(
    "/runs/<uuid:run_id>/replay",
    method="POST",
    tag=TAG,
    response=RunOut,
    status=CREATED,
    body=Reason,
    errors=(400, 403, 404, 409, 422),
)
def replay_run(run_id: uuid.UUID) -> Response:
    """Replay a succeeded run: same inputs by digest, steps, parameters and seed (audited)."""
    why = parse_body(Reason)
    return _created(runs.replay(context.service_context(), run_id, reason=why.reason))


@operation(
    "/runs/<uuid:run_id>/cancel",
    method="POST",
    tag=TAG,
    response=RunOut,
    body=Reason,
    errors=(400, 403, 404, 409, 422),
)
def cancel_run(run_id: uuid.UUID) -> Response:
    """Cancel a queued or running run, with a reason (audited)."""
    why = parse_body(Reason)
    ctx = context.service_context()
    runs.cancel(ctx, run_id, reason=why.reason)
    view = runs.get_run(ctx, run_id)
    return render(RunOut.of(view.run, view.state, view.result))
