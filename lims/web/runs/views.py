"""Processing pages: parse the request, call one service, render."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import UserError
from lims.services import catalogue, runs, workflows
from lims.web import context
from lims.web.errors import BAD_REQUEST, status_for
from lims.web.runs import plots

blueprint = Blueprint("runs", __name__, template_folder="templates")
Page = tuple[str, int]
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
MAX_FORM_STEPS = 8


def _chosen_steps() -> list[str]:
    return [s for s in request.values.getlist("step") if s][:MAX_FORM_STEPS]


def _workflow_form(error: str | None = None, status: int = 200) -> Page:
    ctx = context.service_context()
    catalog = workflows.step_catalog(ctx)
    by_key = {info.key: info for info in catalog}
    chosen = [by_key[key] for key in _chosen_steps() if key in by_key]
    page = render_template(
        "runs/workflow_form.html",
        catalog=catalog,
        chosen=chosen,
        values=request.form,
        slots=max(3, len(chosen) + 1),
        error=error,
    )
    return page, status


def _typed(raw: str, kind: str) -> Any:  # noqa: ANN401 - a parameter value
    text = raw.strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text  # the step's Params says what is wrong with it
    if kind == "boolean":
        return text.lower() in {"1", "true", "on", "yes"}
    return text


@blueprint.get("/workflows")
def workflow_list() -> Page:
    """Workflows (latest versions) and the installed steps with their validation states."""
    ctx = context.service_context()
    page = render_template(
        "runs/workflows.html",
        workflows=workflows.list_workflows(ctx, all_versions=True),
        steps=workflows.step_catalog(ctx),
        may_define=workflows.may_define(ctx),
    )
    return page, 200


@blueprint.get("/workflows/new")
def new_workflow() -> Page:
    """Pick steps, then fill in their parameters (fields built from each parameter schema)."""
    return _workflow_form()


@blueprint.post("/workflows")
def create_workflow() -> Page | BaseResponse:
    """Create a workflow; a refused parameter re-shows the form with the step's message."""
    ctx = context.service_context()
    by_key = {info.key: info for info in workflows.step_catalog(ctx)}
    steps = []
    for index, key in enumerate(_chosen_steps()):
        info = by_key.get(key)
        if info is None:
            return _workflow_form(f"unknown step {key}", BAD_REQUEST)
        parameters = {}
        for entry in info.parameters:
            raw = request.form.get(f"s{index}-{entry['name']}", "")
            if raw.strip() or entry["type"] == "boolean":
                parameters[entry["name"]] = _typed(raw, entry["type"])
        steps.append({"name": info.name, "version": info.version, "parameters": parameters})
    try:
        created = workflows.create_workflow(
            ctx,
            name=request.form.get("name", ""),
            description=request.form.get("description", ""),
            steps=steps,
            resource_class=request.form.get("resource_class", "default"),
        )
    except UserError as exc:
        context.rollback()
        return _workflow_form(str(exc), status_for(exc))
    flash(f"Workflow {created.name} v{created.version} created.", "success")
    return redirect(url_for("runs.workflow_list"))


def _process_page(version_id: uuid.UUID, error: str | None = None, status: int = 200) -> Page:
    ctx = context.service_context()
    version = catalogue.get_version(ctx, version_id)
    page = render_template(
        "runs/process.html",
        version=version,
        workflows=workflows.list_workflows(ctx),
        error=error,
        values=request.form,
    )
    return page, status


@blueprint.get("/versions/<uuid:version_id>/process")
def process(version_id: uuid.UUID) -> Page:
    """Choose a workflow to run on this version."""
    return _process_page(version_id)


@blueprint.post("/versions/<uuid:version_id>/process")
def submit(version_id: uuid.UUID) -> Page | BaseResponse:
    """Submit the chosen workflow; a refusal re-shows the form with the reason."""
    try:
        workflow_id = uuid.UUID(request.form.get("workflow_id", ""))
        run = runs.submit(
            context.service_context(),
            workflow_id,
            version_id,
            reason=request.form.get("reason", ""),
        )
    except ValueError:
        return _process_page(version_id, "choose a workflow", BAD_REQUEST)
    except UserError as exc:
        context.rollback()
        return _process_page(version_id, str(exc), status_for(exc))
    flash("Run queued.", "success")
    return redirect(url_for("runs.run_page", run_id=run.id))


@blueprint.get("/runs")
def queue() -> Page:
    """Every visible run by status; refreshes itself while anything is queued or running."""
    rows = runs.list_runs(context.service_context())
    groups = {status: [(r, s) for r, s in rows if s.status == status] for status in STATUSES}
    template = (
        "runs/_queue.html" if request.headers.get("HX-Request") == "true" else "runs/queue.html"
    )
    return render_template(template, groups=groups, statuses=STATUSES), 200


@blueprint.get("/runs/<uuid:run_id>")
def run_page(run_id: uuid.UUID) -> Page:
    """A run: record, inputs and outputs with digests, environment, log, tables, replays."""
    view = runs.get_run(context.service_context(), run_id)
    scalars = view.result.scalars if view.result else []
    has_threshold = any("threshold" in str(item["name"]) for item in scalars)
    page = render_template("runs/run.html", view=view, run=view.run, has_threshold=has_threshold)
    return page, 200


@blueprint.get("/runs/<uuid:run_id>/tables/<port>.csv")
def table_csv(run_id: uuid.UUID, port: str) -> Response:
    """A result table as CSV."""
    data = runs.table_csv(context.service_context(), run_id, port)
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id.hex[:8]}-{port}.csv"'},
    )


@blueprint.get("/runs/<uuid:run_id>/tables/<port>.png")
def table_plot(run_id: uuid.UUID, port: str) -> Response:
    """A plot of a result table (PNG)."""
    view = runs.get_run(context.service_context(), run_id)
    table = (view.result.tables if view.result else {}).get(port)
    if table is None:
        raise UserError(f"run {run_id} has no table {port!r}")
    return Response(plots.table_png(port, table), mimetype="image/png")


@blueprint.get("/runs/<uuid:run_id>/histogram.png")
def histogram_plot(run_id: uuid.UUID) -> Response:
    """The input histogram with the thresholds the run found (PNG)."""
    counts, low, high, thresholds = runs.input_histogram(context.service_context(), run_id)
    return Response(plots.histogram_png(counts, low, high, thresholds), mimetype="image/png")


@blueprint.post("/runs/<uuid:run_id>/replay")
def replay(run_id: uuid.UUID) -> BaseResponse:
    """Queue a replay of a succeeded run."""
    created = runs.replay(context.service_context(), run_id, reason=request.form.get("reason", ""))
    flash("Replay queued; its verdict appears on this page when it is done.", "success")
    return redirect(url_for("runs.run_page", run_id=created.id))


@blueprint.post("/runs/<uuid:run_id>/cancel")
def cancel(run_id: uuid.UUID) -> BaseResponse:
    """Cancel a queued or running run (with a reason)."""
    runs.cancel(context.service_context(), run_id, reason=request.form.get("reason", ""))
    flash("Run cancelled.", "success")
    return redirect(url_for("runs.run_page", run_id=run_id))
