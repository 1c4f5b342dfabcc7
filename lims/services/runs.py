"""Runs: submit a workflow on dataset versions, replay a run, cancel, read runs.

Each use case authorizes, acts, audits, and registers its enqueue to run after the commit
(STYLE §4.5); the caller commits. Submit writes the immutable run record (inputs by version
id and array digest, steps with code digests and canonical parameters and their SHA-256,
the seed) and a ``queued`` state. Nothing is created when a check fails. Refusals that
break the permitted order of events (replaying a run that has not succeeded; P11-11) or
that try to run unvalidated code on GxP data (P11-12) also leave a ``denied`` audit event,
committed on its own before the error is raised.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn

from sqlalchemy import func, select, tuple_

from audit import EventDraft
from lims.auth.identity import require
from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import (
    DatasetVersion,
    Project,
    Run,
    RunResult,
    RunState,
    VersionDerivative,
    VersionPreparation,
    Workflow,
)
from lims.services import access
from lims.services.changes import refuse_if_retired
from lims.services.context import ServiceContext
from lims.services.workflows import array_ports, get_workflow
from lims.storage.arrays import CanonicalArray
from processing.runchecks import (
    PortShape,
    check_wiring,
    default_registry,
    resolve,
    step_problem,
    sync_step_rows,
)
from processing.step import canonical_json

SEED_BITS = 63
STILL_PREPARING = ("queued", "running")


@dataclasses.dataclass(frozen=True, slots=True)
class RunView:
    """A run with its state, result, and what a page needs to know about it."""

    run: Run
    state: RunState
    result: RunResult | None
    replays: list[Run]
    same_input_runs: int
    may_cancel: bool
    may_replay: bool


def _deny(
    ctx: ServiceContext,
    action: str,
    message: str,
    error: type[UserError],
    *,
    object_type: str,
    object_id: uuid.UUID,
) -> NoReturn:
    """Record a denied attempt, commit it on its own, and raise ``error``."""
    ctx.uow.rollback()
    ctx.audit(EventDraft(f"{action}_denied", object_type, str(object_id), {"denied": message}))
    ctx.uow.commit()
    raise error(message)


def _input_ports(steps: list[dict[str, Any]]) -> list[str]:
    """Ports the workflow reads before any step produces them (its inputs)."""
    registry = default_registry()
    produced: set[str] = set()
    needed: list[str] = []
    for step in steps:
        spec = registry.get(step["name"], int(step["version"]))
        for port in spec.inputs:
            source = step["wiring"].get(port.name, port.name)
            if source not in produced and source not in needed:
                needed.append(source)
        produced |= {p.name for p in spec.outputs}
    return needed


def _input_record(
    ctx: ServiceContext, port: str, version_id: uuid.UUID
) -> tuple[dict[str, Any], uuid.UUID, DatasetVersion]:
    session = ctx.uow.session
    project_id = access.project_id_of(session, "dataset_version", version_id)
    access.check_visible(ctx, project_id, "dataset version")
    assert project_id is not None  # noqa: S101 - check_visible refused a missing one
    require(
        ctx.require_identity(),
        Permission.WORKFLOW_SUBMIT,
        project_id,
        action="submit workflows in this project",
    )
    version = session.get(DatasetVersion, version_id)
    assert version is not None  # noqa: S101
    dataset = version.dataset
    refuse_if_retired(
        ctx,
        ("project", project_id),
        ("sample", dataset.sample_id),
        ("dataset", dataset.id),
        ("dataset_version", version.id),
    )
    preparation = session.get(VersionPreparation, version_id)
    if preparation is None or preparation.state in STILL_PREPARING:
        raise ConflictError(
            f"the input is still being prepared ({dataset.name} v{version.number}); "
            "try again when it is ready"
        )
    derived = session.scalars(
        select(VersionDerivative).where(
            VersionDerivative.version_id == version_id, VersionDerivative.kind == "canonical"
        )
    ).first()
    if preparation.state != "ready" or derived is None or derived.array_digest is None:
        detail = f": {preparation.message}" if preparation.message else ""
        raise UserError(
            f"the input {dataset.name} v{version.number} is not an image ctvault can "
            f"process ({preparation.state}{detail})"
        )
    attrs = derived.attributes
    entry = {
        "port": port,
        "version_id": str(version_id),
        "dataset_id": str(dataset.id),
        "array_digest": derived.array_digest,
        "canonical_sha256": derived.blob_sha256,
        "shape": attrs.get("shape"),
        "dtype": attrs.get("dtype"),
        "voxel_size": attrs.get("voxel_size"),
        "unit": attrs.get("unit"),
    }
    return entry, project_id, version


def submit(
    ctx: ServiceContext,
    workflow_id: uuid.UUID,
    inputs: uuid.UUID | Mapping[str, uuid.UUID],
    *,
    reason: str = "",
) -> Run:
    """Submit a workflow on dataset versions; the job is enqueued after the commit.

    Args:
        ctx: the caller's context (WORKFLOW_SUBMIT in the inputs' project).
        workflow_id: the workflow version to run.
        inputs: one version id (for a workflow with one input port), or version ids by port.
        reason: why; required when the same inputs were already processed by this workflow.

    Raises:
        NotFoundError: the workflow or an input is missing or not visible to the caller.
        PermissionDeniedError: the caller may not submit workflows in the project.
        ConflictError: an input is still being prepared.
        ParameterError, StepInputError, UserError: invalid parameters, wrong input type,
            retired or (on GxP data) unvalidated steps; nothing is created.
    """
    identity = ctx.require_identity()
    workflow = get_workflow(ctx, workflow_id)
    ports = _input_ports(workflow.steps)
    if isinstance(inputs, uuid.UUID):
        if len(ports) != 1:
            raise UserError(f"workflow {workflow.name} needs inputs for {', '.join(ports)}")
        inputs = {ports[0]: inputs}
    missing = sorted(set(ports) - set(inputs))
    if missing:
        raise UserError(f"workflow {workflow.name} needs an input for {', '.join(missing)}")
    records, projects, versions = [], set(), []
    for port in ports:
        entry, project_id, version = _input_record(ctx, port, inputs[port])
        records.append(entry)
        projects.add(project_id)
        versions.append(version)
    if len(projects) != 1:
        raise UserError("all inputs of a run must belong to one project")
    project = ctx.uow.session.get(Project, projects.pop())
    assert project is not None  # noqa: S101
    steps = _step_records(ctx, workflow, is_gxp=project.is_gxp, records=records)
    previous = _same_input_runs(ctx, workflow.name, records)
    if previous and not reason.strip():
        raise UserError(
            f"these inputs were already processed by {workflow.name} {previous} time(s); "
            "give a reason to reprocess them"
        )
    run = Run(
        kind="run",
        workflow_id=workflow.id,
        replay_of_id=None,
        project_id=project.id,
        sample_id=versions[0].dataset.sample_id,
        submitted_by_id=identity.user_id,
        is_gxp=project.is_gxp,
        reason=reason.strip(),
        resource_class=workflow.resource_class,
        inputs=records,
        steps=steps,
        outputs_wanted=list(workflow.outputs) or array_ports(workflow.steps),
        seed=secrets.randbits(SEED_BITS),
        record_sha256="0" * 64,
    )
    return _create(ctx, run, "run.submit", {"workflow": f"{workflow.name} v{workflow.version}"})


def _step_records(
    ctx: ServiceContext, workflow: Workflow, *, is_gxp: bool, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    registry = default_registry()
    steps, workflow_id = workflow.steps, workflow.id
    rows = sync_step_rows(ctx.uow.session, registry)
    out, specs = [], []
    for index, step in enumerate(steps, start=1):
        spec = resolve(registry, step["name"], int(step["version"]))
        params = spec.parse_params(step["parameters"])
        problem = step_problem(
            registry, rows.get(spec.key), spec, recorded_digest=None, is_gxp=is_gxp
        )
        if problem:
            if is_gxp and "retired" not in problem:
                _deny(
                    ctx,
                    "run.submit",
                    f"step {index}: {problem}",
                    PermissionDeniedError,
                    object_type="workflow",
                    object_id=workflow_id,
                )
            raise UserError(f"step {index}: {problem}")
        specs.append((spec, step["wiring"]))
        out.append(
            {
                "name": spec.name,
                "version": spec.version,
                "code_digest": registry.validation_state(spec).live_digest,
                "configuration": params.to_dict(),
                "parameters": spec.canonical_parameters(params).decode("utf-8"),
                "parameters_sha256": spec.parameters_sha256(params),
                "wiring": dict(step["wiring"]),
            }
        )
    check_wiring(specs, {r["port"]: PortShape(len(r["shape"] or ()), r["dtype"]) for r in records})
    return out


def _same_input_runs(ctx: ServiceContext, workflow_name: str, records: list[dict[str, Any]]) -> int:
    wanted = sorted(r["version_id"] for r in records)
    candidates = ctx.uow.session.scalars(
        select(Run)
        .join(Workflow, Workflow.id == Run.workflow_id)
        .where(Run.kind == "run", func.lower(Workflow.name) == workflow_name.lower())
    )
    return sum(1 for run in candidates if sorted(i["version_id"] for i in run.inputs) == wanted)


def _create(ctx: ServiceContext, run: Run, action: str, extra: dict[str, Any]) -> Run:
    body = {
        "kind": run.kind,
        "workflow_id": str(run.workflow_id),
        "replay_of": str(run.replay_of_id) if run.replay_of_id else None,
        "inputs": run.inputs,
        "steps": run.steps,
        "outputs": run.outputs_wanted,
        "seed": run.seed,
        "is_gxp": run.is_gxp,
    }
    run.record_sha256 = hashlib.sha256(canonical_json(body)).hexdigest()
    session = ctx.uow.session
    session.add(run)
    session.flush()
    session.add(
        RunState(
            run_id=run.id,
            status="queued",
            progress=0.0,
            message="queued",
            updated_at=session.scalar(select(func.now())),
        )
    )
    ctx.audit(
        EventDraft(
            action,
            "run",
            str(run.id),
            {
                **extra,
                "inputs": {
                    i["port"]: {"version_id": i["version_id"], "array_digest": i["array_digest"]}
                    for i in run.inputs
                },
                "steps": [
                    f"{s['name']} v{s['version']} {s['parameters_sha256']}" for s in run.steps
                ],
                "seed": run.seed,
                "is_gxp": run.is_gxp,
                "record_sha256": run.record_sha256,
            },
            reason=run.reason,
        )
    )
    session.flush()
    queues = ctx.queues
    if queues is not None:
        run_id, resource_class, kind = run.id, run.resource_class, run.kind
        ctx.uow.after_commit(
            lambda: queues.enqueue_run(run_id, resource_class=resource_class, kind=kind)
        )
    return run


def _visible_run(ctx: ServiceContext, run_id: uuid.UUID) -> Run:
    run = ctx.uow.session.get(Run, run_id)
    access.check_visible(ctx, run.project_id if run else None, "run")
    assert run is not None  # noqa: S101 - check_visible refused a missing one
    return run


def replay(ctx: ServiceContext, run_id: uuid.UUID, *, reason: str = "") -> Run:
    """Submit a replay of a succeeded run (same inputs by digest, steps, parameters, seed).

    Raises:
        NotFoundError: no such run visible to the caller.
        PermissionDeniedError: the caller may not replay runs in the project.
        ConflictError: the run has not succeeded (409; a denied event is recorded).
        UserError: an installed step's code differs from the recorded code digest.
    """
    identity = ctx.require_identity()
    original = _visible_run(ctx, run_id)
    require(
        identity, Permission.RUN_REPLAY, original.project_id, action="replay runs in this project"
    )
    state = ctx.uow.session.get(RunState, run_id)
    if original.kind != "run":
        _deny(
            ctx,
            "run.replay",
            "a replay cannot be replayed; replay the original run",
            ConflictError,
            object_type="run",
            object_id=run_id,
        )
    if state is None or state.status != "succeeded":
        status = state.status if state else "unknown"
        _deny(
            ctx,
            "run.replay",
            f"only a run that has succeeded can be replayed; this run is {status}",
            ConflictError,
            object_type="run",
            object_id=run_id,
        )
    registry = default_registry()
    for step in original.steps:
        spec = resolve(registry, step["name"], int(step["version"]))
        live = registry.validation_state(spec).live_digest
        if live != step["code_digest"]:
            raise UserError(
                f"cannot replay bit-exactly: step {spec.name} v{spec.version} is installed "
                f"with code digest {live}, "
                f"but the run used {step['code_digest']}"
            )
    copy = Run(
        kind="replay",
        workflow_id=original.workflow_id,
        replay_of_id=original.id,
        project_id=original.project_id,
        sample_id=original.sample_id,
        submitted_by_id=identity.user_id,
        is_gxp=original.is_gxp,
        reason=reason.strip() or "replay to verify the recorded outputs",
        resource_class=original.resource_class,
        inputs=list(original.inputs),
        steps=list(original.steps),
        outputs_wanted=list(original.outputs_wanted),
        seed=original.seed,
        record_sha256="0" * 64,
    )
    return _create(
        ctx,
        copy,
        "run.replay",
        {"replay_of": str(original.id), "original_record_sha256": original.record_sha256},
    )


def cancel(ctx: ServiceContext, run_id: uuid.UUID, *, reason: str) -> RunState:
    """Cancel a queued or running run (its submitter or an administrator); no output is kept.

    Raises:
        NotFoundError, PermissionDeniedError, ConflictError (already finished), UserError.
    """
    identity = ctx.require_identity()
    run = _visible_run(ctx, run_id)
    if run.submitted_by_id != identity.user_id and not identity.is_admin:
        raise PermissionDeniedError("only the submitter or an administrator may cancel a run")
    if not reason.strip():
        raise UserError("cancelling a run needs a reason")
    session = ctx.uow.session
    state = session.scalars(
        select(RunState).where(RunState.run_id == run_id).with_for_update()
    ).one()
    if state.status not in ("queued", "running"):
        raise ConflictError(f"the run has already ended ({state.status})")
    was = state.status
    now: dt.datetime = session.execute(select(func.now())).scalar_one()
    state.status, state.message, state.updated_at = (
        "cancelled",
        f"cancelled by {identity.printed_name}: {reason.strip()}"[:500],
        now,
    )
    session.add(
        RunResult(
            run_id=run_id,
            status="cancelled",
            environment={},
            worker_host=state.worker or "",
            started_at=state.started_at,
            finished_at=now,
            peak_memory_bytes=None,
            log="",
            outputs=[],
            tables={},
            scalars=[],
            replay=None,
            error=f"cancelled by {identity.printed_name}: {reason.strip()}",
        )
    )
    ctx.audit(
        EventDraft(
            "run.cancel", "run", str(run_id), {"status": [was, "cancelled"]}, reason=reason.strip()
        )
    )
    queues = ctx.queues
    if queues is not None:
        ctx.uow.after_commit(
            lambda: queues.cancel_queued(run_id) if was == "queued" else queues.stop_running(run_id)
        )
    return state


def get_run(ctx: ServiceContext, run_id: uuid.UUID) -> RunView:
    """A run with its state, result and replays. Raises NotFoundError."""
    identity = ctx.require_identity()
    run = _visible_run(ctx, run_id)
    session = ctx.uow.session
    state = session.get(RunState, run_id)
    assert state is not None  # noqa: S101 - written with the run
    replays = list(
        session.scalars(select(Run).where(Run.replay_of_id == run_id).order_by(Run.created_at))
    )
    same = 0
    if run.kind == "run":
        same = _same_input_runs(ctx, run.workflow.name, run.inputs)
    return RunView(
        run=run,
        state=state,
        result=session.get(RunResult, run_id),
        replays=replays,
        same_input_runs=same,
        may_cancel=state.status in ("queued", "running")
        and (run.submitted_by_id == identity.user_id or identity.is_admin),
        may_replay=run.kind == "run"
        and state.status == "succeeded"
        and identity.can(Permission.RUN_REPLAY, run.project_id),
    )


def list_runs(
    ctx: ServiceContext,
    *,
    status: str | None = None,
    limit: int = 200,
    before: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[tuple[Run, RunState]]:
    """Runs the caller may see, newest first, optionally of one status.

    ``before`` is the (created_at, id) of the last run of the previous page (keyset paging).
    """
    identity = ctx.require_identity()
    query = select(Run, RunState).join(RunState, RunState.run_id == Run.id)
    if not identity.sees_all_projects():
        query = query.where(Run.project_id.in_(identity.visible_project_ids()))
    if status:
        query = query.where(RunState.status == status)
    if before is not None:
        query = query.where(tuple_(Run.created_at, Run.id) < tuple_(*before))
    query = query.order_by(Run.created_at.desc(), Run.id.desc())
    rows = ctx.uow.session.execute(query.limit(limit))
    return [(run, state) for run, state in rows]


def table_csv(ctx: ServiceContext, run_id: uuid.UUID, port: str) -> bytes:
    """The CSV of a result table. Raises NotFoundError."""
    run = _visible_run(ctx, run_id)
    result = ctx.uow.session.get(RunResult, run.id)
    entry = (result.tables if result else {}).get(port)
    if entry is None or "csv_sha256" not in entry:
        raise NotFoundError(f"run {run_id} has no table {port!r}")
    with ctx.blobstore.open(entry["csv_sha256"]) as handle:
        return handle.read()


def input_histogram(
    ctx: ServiceContext, run_id: uuid.UUID
) -> tuple[list[int], float, float, list[float]]:
    """The first input's stored histogram (counts, min, max) and the run's thresholds."""
    run = _visible_run(ctx, run_id)
    entry = run.inputs[0]
    with CanonicalArray(ctx.blobstore.path(entry["canonical_sha256"])) as array:
        stats = array.stats
    result = ctx.uow.session.get(RunResult, run.id)
    thresholds = [
        float(item["value"])
        for item in (result.scalars if result else [])
        if "threshold" in str(item["name"]) and isinstance(item["value"], int | float)
    ]
    low = float(stats.minimum) if stats.minimum is not None else 0.0
    high = float(stats.maximum) if stats.maximum is not None else 1.0
    return list(stats.histogram), low, high, thresholds
