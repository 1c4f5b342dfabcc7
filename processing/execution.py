"""Execute one claimed run: inputs by digest -> runner -> output versions + result + audit.

The job (``processing.jobs.execute_run``) claims the run's state row with ``FOR UPDATE SKIP
LOCKED`` (safe to run twice), re-checks the step versions and the submitter's permission
(P11-12, P11-13), reads each input's canonical array and verifies its array digest against
the recorded one before use, runs :func:`processing.runner.run_workflow` with the recorded
seed, and then writes everything in ONE transaction: the output datasets and versions
(canonical HDF5 blobs via :func:`lims.storage.versions.commit_version`, lineage in their
metadata), the immutable result row, the final state, the audit events and a notification.
Any failure leaves no output (new blobs are removed again) and records ``run.failed`` with
a clear message (invariant 7); the submitter gets an in-app notification and an e-mail.

A run cancelled while executing ends without output: the progress callback sees the state
and stops the step, and the final transaction refuses to commit over a cancelled state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from lims.auth.roles import Permission
from lims.db.uow import UnitOfWork
from lims.errors import IntegrityCheckError, PermissionDeniedError, UserError
from lims.formats.base import ImageInfo
from lims.models import (
    Blob,
    Dataset,
    DatasetVersion,
    Notification,
    Run,
    RunResult,
    RunState,
    User,
    VersionDerivative,
    VersionPreparation,
)
from lims.notify import send_mail
from lims.storage.arrays import CanonicalArray, array_digest, write_canonical
from lims.storage.versions import FileEntry, commit_version
from processing import preparation
from processing.chunked import ArraySource
from processing.context import JobResources
from processing.environment import environment
from processing.queues import JobQueue
from processing.runchecks import (
    default_registry,
    resolve,
    step_problem,
    submitter_may,
    sync_step_rows,
)
from processing.runner import WorkflowStep, run_workflow
from processing.step import PortKind, StepContext, Table

_log = logging.getLogger(__name__)
# Inputs up to this size are read into memory once (digest and steps share the copy);
# larger ones are verified and processed straight from the HDF5 file, slab by slab.
IN_MEMORY_BYTES = 2 * 1024**3
PROGRESS_EVERY_S = 1.0
STALE_QUEUED_S = 600
Finisher = Callable[["JobResources", "Plan", "Computed", list[str]], str]


class RunCancelledError(Exception):
    """The run was cancelled while it executed; nothing is written."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What the worker needs of a run record, read once."""

    run_id: uuid.UUID
    kind: str
    replay_of_id: uuid.UUID | None
    project_id: uuid.UUID
    sample_id: uuid.UUID
    is_gxp: bool
    seed: int
    inputs: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    outputs_wanted: list[str]
    workflow_name: str
    workflow_version: int
    submitted_by_id: uuid.UUID
    submitter_name: str
    submitter_email: str | None
    input_dataset_name: str

    @property
    def short_id(self) -> str:
        """The first 8 hex digits of the run id, for names."""
        return self.run_id.hex[:8]


@dataclasses.dataclass(slots=True)
class Computed:
    """What the steps produced, with digests, and how the execution went."""

    arrays: dict[str, ArraySource]
    kinds: dict[str, str]
    digests: dict[str, str]
    tables: dict[str, Table]
    scalars: list[dict[str, Any]]
    voxel_size_um: tuple[float, ...]
    unit: str
    environment: dict[str, Any]
    worker_host: str
    started_at: Any
    log: RunLog


class RunLog:
    """Collects a run's log lines (UTC times) for its result row."""

    def __init__(self, run_id: uuid.UUID) -> None:
        self.logger = logging.getLogger(f"processing.run.{run_id.hex[:8]}")
        self.logger.setLevel(logging.INFO)
        self._buffer = io.StringIO()
        self._handler = logging.StreamHandler(self._buffer)
        formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(message)s")
        formatter.converter = time.gmtime
        self._handler.setFormatter(formatter)
        self.logger.addHandler(self._handler)

    def text(self) -> str:
        """Everything logged so far."""
        return self._buffer.getvalue()

    def close(self) -> None:
        """Detach from logging."""
        self.logger.removeHandler(self._handler)


def worker_actor(res: JobResources, plan: Plan) -> Actor:
    """The worker's service identity acting on behalf of the submitter (AL-01)."""
    return Actor(
        plan.submitted_by_id,
        f"{plan.submitter_name} via worker@{res.hostname}",
        {
            "via": "worker",
            "service": f"worker@{res.hostname}",
            "on_behalf_of": str(plan.submitted_by_id),
        },
    )


def execute_run(res: JobResources, run_id: uuid.UUID, *, finish: Finisher | None = None) -> str:
    """Claim and execute one run; returns its final status (``skipped`` if not claimable)."""
    started_at = claim(res, run_id)
    if started_at is None:
        return "skipped"
    log = RunLog(run_id)
    created: list[str] = []
    plan: Plan | None = None
    try:
        plan = load_plan(res, run_id)
        log.logger.info("run %s (%s) claimed by worker %s", run_id, plan.kind, res.hostname)
        recheck(res, plan)
        with contextlib.ExitStack() as stack:
            inputs, checks, voxel, unit = open_inputs(res, plan, stack)
            computed = compute(res, plan, inputs, voxel, unit, log, started_at)
            for check in checks:
                check.verify(log)
            return (finish or commit_outputs)(res, plan, computed, created)
    except RunCancelledError:
        discard_blobs(res, created)
        log.logger.info("cancelled")
        return "cancelled"
    except UserError as exc:
        discard_blobs(res, created)
        log.logger.error("refused: %s", exc)  # noqa: TRY400 - a clear message, no traceback
        return record_failure(res, run_id, plan, str(exc), log.text(), started_at)
    except Exception as exc:
        discard_blobs(res, created)
        log.logger.exception("internal error")
        _log.exception("run %s failed", run_id)
        message = f"internal error: {type(exc).__name__}: {exc}"
        return record_failure(res, run_id, plan, message, log.text(), started_at)
    finally:
        log.close()


def claim(res: JobResources, run_id: uuid.UUID) -> Any | None:  # noqa: ANN401 - a datetime
    """Mark a queued run as running on this worker; None if it is not queued (or locked)."""
    with res.unit_of_work() as uow:
        state = uow.session.scalars(
            select(RunState).where(RunState.run_id == run_id).with_for_update(skip_locked=True)
        ).first()
        if state is None or state.status != "queued":
            return None
        now = res.clock.now()
        state.status, state.worker, state.started_at = "running", res.hostname, now
        state.updated_at, state.progress, state.message = now, 0.0, "started"
        uow.commit()
        return now


def load_plan(res: JobResources, run_id: uuid.UUID) -> Plan:
    """Read the run record, its workflow, submitter and first input's dataset."""
    with res.unit_of_work() as uow:
        run = uow.session.get(Run, run_id)
        if run is None:
            raise UserError(f"no run {run_id}")
        user = uow.session.get(User, run.submitted_by_id)
        first = uow.session.get(DatasetVersion, uuid.UUID(run.inputs[0]["version_id"]))
        return Plan(
            run_id=run.id,
            kind=run.kind,
            replay_of_id=run.replay_of_id,
            project_id=run.project_id,
            sample_id=run.sample_id,
            is_gxp=run.is_gxp,
            seed=run.seed,
            inputs=list(run.inputs),
            steps=list(run.steps),
            outputs_wanted=list(run.outputs_wanted),
            workflow_name=run.workflow.name,
            workflow_version=run.workflow.version,
            submitted_by_id=run.submitted_by_id,
            submitter_name=f"{user.display_name} ({user.username})" if user else "unknown",
            submitter_email=user.email if user else None,
            input_dataset_name=first.dataset.name if first else "input",
        )


def recheck(res: JobResources, plan: Plan) -> None:
    """Refuse steps that may no longer run here, or a submitter who lost the permission."""
    registry = default_registry()
    with res.unit_of_work() as uow:
        rows = sync_step_rows(uow.session, registry)
        for step in plan.steps:
            spec = resolve(registry, step["name"], int(step["version"]))
            problem = step_problem(
                registry,
                rows.get(spec.key),
                spec,
                recorded_digest=step["code_digest"],
                is_gxp=plan.is_gxp,
                allow_retired=plan.kind == "replay",
            )
            if problem:
                raise UserError(f"refused by the worker: {problem}")
        permission = Permission.RUN_REPLAY if plan.kind == "replay" else Permission.WORKFLOW_SUBMIT
        if not submitter_may(uow.session, plan.submitted_by_id, plan.project_id, permission):
            raise PermissionDeniedError(
                f"refused by the worker: {plan.submitter_name} no longer holds "
                f"{permission.value} in the run's project"
            )
        uow.commit()


@dataclasses.dataclass(frozen=True, slots=True)
class InputCheck:
    """An input's array digest being computed in the background, and what it must be."""

    port: str
    version_id: str
    expected: str
    digest: Future[str]

    def verify(self, log: RunLog) -> None:
        """Wait for the digest; refuse the run if the input is not what was recorded.

        Raises:
            IntegrityCheckError: the canonical array changed since the run was submitted.
        """
        digest = self.digest.result()
        if digest != self.expected:
            raise IntegrityCheckError(
                f"input {self.port} (version {self.version_id}): array digest "
                f"{digest} differs from the recorded {self.expected}"
            )
        log.logger.info(
            "input %s: version %s, digest %s verified", self.port, self.version_id, digest
        )


def open_inputs(
    res: JobResources, plan: Plan, stack: contextlib.ExitStack
) -> tuple[dict[str, ArraySource], list[InputCheck], tuple[float, ...], str]:
    """Each input's canonical array, with its digest check started on a second thread.

    The steps start at once; :meth:`InputCheck.verify` must pass before anything is
    committed (hashing releases the GIL, so the check costs little wall time).
    """
    arrays: dict[str, ArraySource] = {}
    checks: list[InputCheck] = []
    voxel: tuple[float, ...] = (1.0, 1.0, 1.0)
    unit = "um"
    hasher = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest"))
    with res.unit_of_work() as uow:
        for index, entry in enumerate(plan.inputs):
            derived = uow.session.scalars(
                select(VersionDerivative).where(
                    VersionDerivative.version_id == uuid.UUID(entry["version_id"]),
                    VersionDerivative.kind == "canonical",
                )
            ).first()
            if derived is None:
                raise UserError(f"input {entry['version_id']} has no canonical array")
            canonical = stack.enter_context(CanonicalArray(res.blobstore.path(derived.blob_sha256)))
            data: ArraySource = canonical.dataset(0)
            if np.dtype(data.dtype).itemsize * int(np.prod(data.shape)) <= IN_MEMORY_BYTES:
                data = np.asarray(data[...])
            future = hasher.submit(array_digest, data)  # type: ignore[arg-type]
            checks.append(
                InputCheck(entry["port"], entry["version_id"], entry["array_digest"], future)
            )
            arrays[entry["port"]] = data
            if index == 0:
                voxel, unit = _voxel_um(canonical.info.voxel_size, canonical.info.unit)
    return arrays, checks, voxel, unit


def _voxel_um(voxel: tuple[float, ...] | None, unit: str) -> tuple[tuple[float, ...], str]:
    factors = {"um": 1.0, "µm": 1.0, "micron": 1.0, "mm": 1000.0, "nm": 0.001, "m": 1e6}
    if voxel is None or unit not in factors:
        return (1.0, 1.0, 1.0), unit or "um"
    return tuple(float(v) * factors[unit] for v in voxel), "um"


def compute(  # noqa: PLR0917 - one call site, in order of use
    res: JobResources,
    plan: Plan,
    inputs: Mapping[str, ArraySource],
    voxel: tuple[float, ...],
    unit: str,
    log: RunLog,
    started_at: Any,  # noqa: ANN401 - a datetime
) -> Computed:
    """Run the recorded steps with the recorded parameters and seed; digest the outputs."""
    registry = default_registry()
    steps = []
    for entry in plan.steps:
        spec = resolve(registry, entry["name"], int(entry["version"]))
        steps.append(WorkflowStep(spec, spec.parse_params(entry["configuration"]), entry["wiring"]))
    ctx = StepContext(voxel_size_um=voxel, progress=_progress(res, plan.run_id), logger=log.logger)
    log.logger.info("running %d step(s) with seed %d", len(steps), plan.seed)
    result = run_workflow(steps, inputs, ctx, seed=plan.seed)
    kinds = {
        port.name: "label" if port.kind is PortKind.LABEL else "intensity"
        for step in steps
        for port in step.spec.outputs
    }
    missing = [name for name in plan.outputs_wanted if name not in result.arrays]
    if missing:
        raise UserError(f"the workflow produced no array named {', '.join(missing)}")
    arrays = {name: result.arrays[name] for name in plan.outputs_wanted}
    scalars = [
        {"step": f"{s.name} v{s.version}", "name": k, "value": v, "unit": r.scalar_units.get(k, "")}
        for s, r in zip((w.spec for w in steps), result.steps, strict=True)
        for k, v in r.scalars.items()
    ]
    for item in scalars:
        log.logger.info("%s: %s = %s %s", item["step"], item["name"], item["value"], item["unit"])
    for name, table in result.tables.items():
        log.logger.info("table %s: %d row(s), sha256 %s", name, len(table.rows), table.sha256())
    return Computed(
        arrays=arrays,
        kinds=kinds,
        digests={},  # filled while the outputs are written (or digested, for a replay)
        tables=dict(result.tables),
        scalars=scalars,
        voxel_size_um=result.voxel_size_um,
        unit=unit,
        environment=environment(),
        worker_host=res.hostname,
        started_at=started_at,
        log=log,
    )


def _progress(res: JobResources, run_id: uuid.UUID) -> Callable[[float, str], None]:
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        with res.unit_of_work() as uow:
            state = uow.session.get(RunState, run_id)
            if state is None or state.status == "cancelled":
                raise RunCancelledError
            state.progress = min(1.0, max(0.0, float(fraction)))
            state.message, state.updated_at = message[:500], res.clock.now()
            uow.commit()

    return report


class _ArrayImage:
    """An output array posing as a source image for ``write_canonical``."""

    def __init__(
        self, array: ArraySource, voxel: tuple[float, ...], unit: str, meta: dict[str, Any]
    ) -> None:
        ndim = len(array.shape)
        self._array = array
        self.info = ImageInfo(
            shape=tuple(int(n) for n in array.shape),
            dtype=np.dtype(array.dtype),
            voxel_size=tuple(voxel[-ndim:]) if len(voxel) >= ndim else None,
            unit=unit,
            format_name="ctvault-run",
            metadata=meta,
            is_volume=ndim == 3,  # noqa: PLR2004 - (z, y, x)
        )

    def iter_slabs(self, depth: int) -> Iterator[NDArray[Any]]:
        for start in range(0, self.info.shape[0], depth):
            yield np.asarray(self._array[start : start + depth])

    def close(self) -> None:
        """Nothing to release."""


@dataclasses.dataclass(frozen=True, slots=True)
class _StoredOutput:
    port: str
    kind: str
    digest: str
    blob: preparation.Derived
    previews: list[preparation.Derived]


def store_outputs(
    res: JobResources, plan: Plan, computed: Computed, created: list[str]
) -> tuple[list[_StoredOutput], dict[str, dict[str, Any]]]:
    """Write array outputs as canonical HDF5 blobs (with previews) and tables as CSV blobs."""
    scratch = Path(tempfile.mkdtemp(prefix="ctvault-run-"))
    try:
        stored = []
        for port, array in computed.arrays.items():
            kind = computed.kinds.get(port, "intensity")
            target = scratch / f"{port}.h5"
            meta = {"run_id": str(plan.run_id), "port": port}
            image = _ArrayImage(array, computed.voxel_size_um, computed.unit, meta)
            info = write_canonical(image, target, kind="label" if kind == "label" else "intensity")
            # The digest write_canonical computed over the very blocks it stored.
            computed.digests[port] = info.digest
            computed.log.logger.info("output %s: array digest %s", port, info.digest)
            blob = res.blobstore.put_file(target)
            created.append(blob.sha256)
            with CanonicalArray(target) as written:
                previews = preparation._previews(res.blobstore, written, is_volume=info.is_volume)  # noqa: SLF001
            created.extend(p.sha256 for p in previews)
            attributes = preparation._attributes(info)  # noqa: SLF001
            derived = preparation.Derived(
                "canonical",
                blob.sha256,
                blob.size_bytes,
                "application/x-hdf5",
                info.digest,
                attributes,
            )
            stored.append(_StoredOutput(port, kind, info.digest, derived, previews))
        tables = {}
        for port, table in computed.tables.items():
            data = table_csv(table)
            blob = res.blobstore.put_stream(
                io.BytesIO(data), expected_size=len(data), source_name=f"{port}.csv"
            )
            created.append(blob.sha256)
            tables[port] = {**table_json(table), "csv_sha256": blob.sha256, "csv_bytes": len(data)}
        return stored, tables
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def table_json(table: Table) -> dict[str, Any]:
    """A table as stored in the result row: columns, units, rows and its SHA-256."""
    return {
        "columns": list(table.columns),
        "units": dict(table.units),
        "rows": [dict(row) for row in table.rows],
        "sha256": table.sha256(),
    }


def table_csv(table: Table) -> bytes:
    """A table as CSV (header: ``column [unit]``), UTF-8."""
    import csv  # noqa: PLC0415 - only here

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{c} [{table.units[c]}]" if table.units.get(c) else c for c in table.columns])
    for row in table.rows:
        writer.writerow([row.get(c, "") for c in table.columns])
    return out.getvalue().encode("utf-8")


def commit_outputs(res: JobResources, plan: Plan, computed: Computed, created: list[str]) -> str:
    """Store outputs, then commit versions + result + state + audit in one transaction."""
    stored, tables = store_outputs(res, plan, computed, created)
    actor = worker_actor(res, plan)
    with res.unit_of_work() as uow:
        session = uow.session
        state = lock_running(session, plan.run_id)
        if state is None:
            uow.rollback()
            discard_blobs(res, created)
            return "cancelled"
        outputs = [
            _commit_output(session, actor, plan, item, many=len(stored) > 1) for item in stored
        ]
        for entry in tables.values():
            _blob_row(session, entry["csv_sha256"], entry["csv_bytes"])
        finish_run(
            uow,
            res,
            plan,
            state,
            status="succeeded",
            result={"outputs": outputs, "tables": tables, "scalars": computed.scalars},
            computed=computed,
            actor=actor,
        )
        uow.commit()
    return "succeeded"


def lock_running(session: Session, run_id: uuid.UUID) -> RunState | None:
    """Lock a run's state row; the row if the run is still running, else None."""
    state = session.scalars(
        select(RunState).where(RunState.run_id == run_id).with_for_update()
    ).one()
    return state if state.status == "running" else None


def _blob_row(session: Session, sha256: str, size: int) -> None:
    session.execute(
        insert(Blob)
        .values(sha256=sha256, size_bytes=size)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


def _commit_output(
    session: Session, actor: Actor, plan: Plan, item: _StoredOutput, *, many: bool
) -> dict[str, Any]:
    base = plan.input_dataset_name[:180]
    name = f"{base} — {plan.workflow_name[:60]} run {plan.short_id}" + (
        f" · {item.port}" if many else ""
    )
    dataset = Dataset(sample_id=plan.sample_id, name=name, created_by_id=plan.submitted_by_id)
    session.add(dataset)
    session.flush()
    record(
        session,
        actor,
        EventDraft(
            "dataset.create",
            "dataset",
            str(dataset.id),
            {
                "sample_id": [None, str(plan.sample_id)],
                "name": [None, name],
                "run_id": str(plan.run_id),
            },
        ),
    )
    derived_from = [entry["version_id"] for entry in plan.inputs]
    version = commit_version(
        session,
        dataset,
        files=[FileEntry(f"{item.port}.h5", item.blob.sha256, item.blob.size_bytes)],
        author_id=plan.submitted_by_id,
        reason=(
            f"output {item.port!r} of run {plan.run_id} "
            f"({plan.workflow_name} v{plan.workflow_version})"
        ),
        metadata={
            "derived_from": derived_from,
            "run_id": str(plan.run_id),
            "workflow": {"name": plan.workflow_name, "version": plan.workflow_version},
            "output_port": item.port,
            "array_digest": item.digest,
        },
    )
    for derived in (item.blob, *item.previews):
        _blob_row(session, derived.sha256, derived.size_bytes)
        session.add(
            VersionDerivative(
                version_id=version.id,
                kind=derived.kind,
                blob_sha256=derived.sha256,
                media_type=derived.media_type,
                array_digest=derived.array_digest,
                attributes=derived.attributes,
            )
        )
    session.add(
        VersionPreparation(
            version_id=version.id,
            state="ready",
            message="",
            worker=None,
            updated_at=session.scalar(select(func.now())),
        )
    )
    record(
        session,
        actor,
        EventDraft(
            "version.create",
            "dataset_version",
            str(version.id),
            {
                "dataset_id": str(dataset.id),
                "number": version.number,
                "files": 1,
                "manifest_sha256": version.manifest_sha256,
                "derived_from": derived_from,
                "run_id": str(plan.run_id),
            },
            reason=version.reason,
        ),
    )
    return {
        "port": item.port,
        "kind": item.kind,
        "version_id": str(version.id),
        "dataset_id": str(dataset.id),
        "array_digest": item.digest,
        "blob_sha256": item.blob.sha256,
        "shape": item.blob.attributes["shape"],
        "dtype": item.blob.attributes["dtype"],
    }


def finish_run(
    uow: UnitOfWork,
    res: JobResources,
    plan: Plan,
    state: RunState,
    *,
    status: str,
    result: dict[str, Any],
    computed: Computed,
    actor: Actor,
    replay: dict[str, Any] | None = None,
) -> None:
    """Write the result row, final state, audit event and notification (no commit)."""
    session = uow.session
    now = res.clock.now()
    session.add(
        RunResult(
            run_id=plan.run_id,
            status=status,
            environment=computed.environment,
            worker_host=computed.worker_host,
            started_at=computed.started_at,
            finished_at=now,
            peak_memory_bytes=peak_memory_bytes(),
            log=computed.log.text(),
            outputs=result["outputs"],
            tables=result["tables"],
            scalars=result["scalars"],
            replay=replay,
            error="",
        )
    )
    state.status, state.progress, state.updated_at = status, 1.0, now
    state.message = "finished" if replay is None else f"replay: {replay['verdict']}"
    changes: dict[str, Any] = {
        "status": ["running", status],
        "outputs": {o["port"]: o["array_digest"] for o in result["outputs"]},
        "tables": {port: t["sha256"] for port, t in result["tables"].items()},
    }
    if replay is not None:
        changes["replay_of"] = str(plan.replay_of_id)
        changes["verdict"] = replay["verdict"]
    record(session, actor, EventDraft(f"run.{status}", "run", str(plan.run_id), changes))
    verdict = f" — replay {replay['verdict']}" if replay is not None else ""
    notify(
        uow,
        res,
        plan,
        f"Run {plan.short_id} ({plan.workflow_name}) {status}{verdict}",
        computed.log.text()[-2000:],
    )


def peak_memory_bytes() -> int:
    """Peak resident memory of this process (``ru_maxrss`` is in KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def notify(uow: UnitOfWork, res: JobResources, plan: Plan, subject: str, body: str) -> None:
    """An in-app notification for the submitter now, and an e-mail after commit."""
    uow.session.add(
        Notification(
            user_id=plan.submitted_by_id,
            subject=subject[:300],
            body=body,
            object_type="run",
            object_id=plan.run_id,
        )
    )
    email = plan.submitter_email
    if email:
        text = f"{subject}\n\nRun {plan.run_id}\n\n{body}"
        uow.after_commit(lambda: send_mail(res.settings, [email], subject, text))


def record_failure(  # noqa: PLR0917 - one call site per outcome
    res: JobResources,
    run_id: uuid.UUID,
    plan: Plan | None,
    message: str,
    log_text: str,
    started_at: Any,  # noqa: ANN401 - a datetime
) -> str:
    """End a running run as failed, with the message, in one transaction."""
    plan = plan or load_plan(res, run_id)
    with res.unit_of_work() as uow:
        state = lock_running(uow.session, run_id)
        if state is None:
            return "cancelled"
        now = res.clock.now()
        uow.session.add(
            RunResult(
                run_id=run_id,
                status="failed",
                environment=environment(),
                worker_host=res.hostname,
                started_at=started_at,
                finished_at=now,
                peak_memory_bytes=peak_memory_bytes(),
                log=log_text,
                outputs=[],
                tables={},
                scalars=[],
                replay=None,
                error=message[:4000],
            )
        )
        state.status, state.message, state.updated_at = "failed", message[:500], now
        actor = worker_actor(res, plan)
        record(
            uow.session,
            actor,
            EventDraft(
                "run.failed",
                "run",
                str(run_id),
                {"status": ["running", "failed"], "error": message[:2000]},
            ),
        )
        notify(uow, res, plan, f"Run {plan.short_id} ({plan.workflow_name}) failed", message)
        uow.commit()
    return "failed"


def discard_blobs(res: JobResources, created: list[str]) -> None:
    """Remove blobs this run stored that no committed row references (invariant 7)."""
    if not created:
        return
    with res.unit_of_work() as uow:
        referenced = set(uow.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(created))))
    for sha256 in set(created) - referenced:
        res.blobstore.discard_new(sha256)
    created.clear()


def reap_stale_runs(
    res: JobResources, queues: JobQueue, *, queued_after_s: int = STALE_QUEUED_S
) -> dict[str, list[str]]:
    """Fail runs whose worker died mid-job; re-enqueue queued runs that lost their job.

    Policy (documented in docs): a run left ``running`` with no live RQ job (or a job whose
    worker stopped beating its heart) is marked ``failed`` with a clear message; it is not
    retried, since a partial execution is no evidence. Submit it again (a new run).
    """
    now = res.clock.now()
    reaped: dict[str, list[str]] = {"failed": [], "requeued": []}
    with res.unit_of_work() as uow:
        unfinished = uow.session.execute(
            select(
                RunState.run_id, RunState.status, RunState.started_at, RunState.updated_at
            ).where(RunState.status.in_(("queued", "running")))
        ).all()
    for run_id, status, started_at, updated_at in unfinished:
        if queues.is_alive(run_id, now):
            continue
        if status == "running":
            message = (
                "the worker stopped while executing this run (killed or lost); "
                "it is marked failed — submit it again"
            )
            if record_failure(res, run_id, None, message, "", started_at) == "failed":
                reaped["failed"].append(str(run_id))
        elif (now - updated_at).total_seconds() >= queued_after_s:
            with res.unit_of_work() as uow:
                run = uow.session.get(Run, run_id)
                if run is not None:
                    queues.enqueue_run(run.id, resource_class=run.resource_class, kind=run.kind)
                    reaped["requeued"].append(str(run.id))
    return reaped
