"""Bad input never creates anything and says clearly why (invariant 7, P11-11/12/13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.roles import Role
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import (
    Dataset,
    DatasetVersion,
    Project,
    Run,
    User,
    VersionDerivative,
    Workflow,
)
from lims.runtime.resources import Resources
from lims.services import notifications, runs, workflows
from lims.services.context import ServiceContext
from processing import execution
from processing.step import ParameterError, StepInputError
from tests.conftest import as_user
from tests.factories import make_user
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, two_spheres

LABEL = OTSU_LABEL_PARTICLES[:2]


def _count(ctx: ServiceContext, model: Any) -> int:
    return ctx.uow.session.scalar(select(func.count()).select_from(model)) or 0


def _actions(ctx: ServiceContext, object_type: str) -> list[str]:
    return list(
        ctx.uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == object_type)
        )
    )


def test_an_out_of_bounds_parameter_is_refused_with_the_bound_and_nothing_is_created(
    ctx: ServiceContext,
) -> None:
    steps = [{"name": "segment.otsu", "version": 1, "parameters": {"bins": 1}}]
    with pytest.raises(
        ParameterError, match=r"step 1 \(segment\.otsu v1\): parameter bins = 1 is below 2"
    ):
        workflows.create_workflow(ctx, name="Bad", steps=steps)
    ctx.uow.rollback()
    assert _count(ctx, Workflow) == 0


@pytest.mark.req("P11-11")
def test_a_2d_image_into_a_3d_only_step_is_refused_at_submit(
    ctx: ServiceContext, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres()[12])
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    ctx.uow.commit()
    with pytest.raises(
        StepInputError, match=r"measure\.particles v1.*needs a 3D image, but gets a 2D"
    ):
        runs.submit(ctx, workflow.id, source.id)
    ctx.uow.rollback()
    assert _count(ctx, Run) == 0


def test_a_retired_step_is_refused(
    ctx: ServiceContext, admin_ctx: ServiceContext, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    ctx.uow.commit()
    workflows.set_step_state(admin_ctx, "segment.label", 1, state="retired", reason="superseded")
    admin_ctx.uow.commit()
    assert _actions(ctx, "processing_step") == ["step.state_change"]
    with pytest.raises(UserError, match=r"segment\.label v1 is retired"):
        runs.submit(ctx, workflow.id, source.id)
    with pytest.raises(UserError, match="retired"):
        workflows.create_workflow(ctx, name="Again", steps=LABEL)
    ctx.uow.rollback()
    assert _count(ctx, Run) == 0


def test_only_an_admin_with_a_reason_and_lock_evidence_changes_a_step_state(
    ctx: ServiceContext, admin_ctx: ServiceContext
) -> None:
    with pytest.raises(PermissionDeniedError):
        workflows.set_step_state(ctx, "segment.otsu", 1, state="draft", reason="x")
    with pytest.raises(UserError, match="needs a reason"):
        workflows.set_step_state(admin_ctx, "segment.otsu", 1, state="draft", reason=" ")
    with pytest.raises(UserError, match="no validation evidence"):
        workflows.set_step_state(admin_ctx, "measure.particles", 1, state="validated", reason="x")


@pytest.mark.req("P11-12", "DI-07")
def test_a_draft_step_is_refused_on_a_gxp_project_with_a_denied_event(
    ctx: ServiceContext, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres(), project="GxP study", is_gxp=True)
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    ctx.uow.commit()
    with pytest.raises(PermissionDeniedError, match=r"measure\.particles v1 is not validated"):
        runs.submit(ctx, workflow.id, source.id)
    assert _count(ctx, Run) == 0
    assert "run.submit_denied" in _actions(ctx, "workflow")


@pytest.mark.req("P11-12", "P11-13")
def test_the_worker_refuses_a_step_whose_state_changed_after_submit(
    ctx: ServiceContext,
    admin_ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., Any],
) -> None:
    source = ingest_volume(two_spheres(), project="GxP study", is_gxp=True)
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    workflows.set_step_state(admin_ctx, "segment.otsu", 1, state="draft", reason="OQ re-run")
    admin_ctx.uow.commit()
    versions = _count(ctx, DatasetVersion)
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    view = runs.get_run(ctx, run.id)
    assert view.state.status == "failed"
    assert "refused by the worker" in view.result.error
    assert "segment.otsu v1 is not validated" in view.result.error
    assert _count(ctx, DatasetVersion) == versions


def test_an_input_the_user_may_not_read_is_not_found(
    ctx: ServiceContext, resources: Resources, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    ctx.uow.commit()
    elsewhere = ctx.uow.session.scalars(select(Project).where(Project.name == "Research")).one()
    other = make_user(ctx.uow, "outsider", roles=set(), project_roles={})
    with pytest.raises(NotFoundError, match="no such dataset version"):
        runs.submit(as_user(resources, ctx.uow, other), workflow.id, source.id)
    viewer = make_user(
        ctx.uow, "onlooker", roles=set(), project_roles={elsewhere.id: {Role.VIEWER}}
    )
    with pytest.raises(PermissionDeniedError, match="submit workflows"):
        runs.submit(as_user(resources, ctx.uow, viewer), workflow.id, source.id)
    assert _count(ctx, Run) == 0


def test_an_input_still_being_prepared_is_refused_clearly(
    ctx: ServiceContext, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres(), prepare=False)
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    with pytest.raises(ConflictError, match="the input is still being prepared"):
        runs.submit(ctx, workflow.id, source.id)
    ctx.uow.rollback()
    assert _count(ctx, Run) == 0


@pytest.mark.req("DI-07")
def test_a_failing_job_leaves_no_output_and_mails_the_submitter(
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    mailbox: Any,
) -> None:
    source = ingest_volume(two_spheres())
    ctx.uow.session.get(User, ctx.require_identity().user_id).email = "mcurie@example.org"
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    blobs_before = set(ctx.blobstore.iter_digests())
    datasets = _count(ctx, Dataset)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(execution, "commit_version", broken)
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    view = runs.get_run(ctx, run.id)
    assert view.state.status == "failed"
    assert view.result.error == "internal error: RuntimeError: the disk is on fire"
    assert view.result.outputs == []
    assert _count(ctx, Dataset) == datasets
    assert set(ctx.blobstore.iter_digests()) == blobs_before, "new blobs are removed"
    actions = ctx.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(run.id))
    ).all()
    assert actions == ["run.submit", "run.failed"]
    [mail] = mailbox.wait_for(1)
    assert "failed" in mail["Subject"]
    assert "the disk is on fire" in mail.get_content()
    assert next(
        n.subject for n in notifications.list_notifications(ctx, unread_only=True)
    ).endswith("failed")


def test_a_queued_run_can_be_cancelled_and_never_runs(
    ctx: ServiceContext, worker: SimpleWorker, redis: Redis, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    assert Queue("default", connection=redis, serializer=JSONSerializer).count == 1
    with pytest.raises(UserError, match="needs a reason"):
        runs.cancel(ctx, run.id, reason="")
    runs.cancel(ctx, run.id, reason="wrong sample")
    ctx.uow.commit()
    assert Queue("default", connection=redis, serializer=JSONSerializer).count == 0
    versions = _count(ctx, DatasetVersion)
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    view = runs.get_run(ctx, run.id)
    assert view.state.status == "cancelled"
    assert view.result.status == "cancelled"
    assert "wrong sample" in view.result.error
    assert _count(ctx, DatasetVersion) == versions
    with pytest.raises(ConflictError, match="already ended"):
        runs.cancel(ctx, run.id, reason="again")


def test_execute_is_safe_to_call_twice(
    ctx: ServiceContext, worker: SimpleWorker, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    worker.work(burst=True)
    from processing import context

    assert execution.execute_run(context.resources(), run.id) == "skipped"
    ctx.uow.session.expire_all()
    assert len(runs.get_run(ctx, run.id).result.outputs) == 1
    assert np.isfinite(runs.get_run(ctx, run.id).result.scalars[0]["value"])


@pytest.mark.req("DI-07", "REP-01")
def test_an_input_altered_behind_the_apps_back_fails_the_run_with_no_output(
    ctx: ServiceContext, worker: SimpleWorker, ingest_volume: Callable[..., Any]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=LABEL)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    canonical = ctx.uow.session.scalars(
        select(VersionDerivative).where(
            VersionDerivative.version_id == source.id, VersionDerivative.kind == "canonical"
        )
    ).one()
    path = ctx.blobstore.path(canonical.blob_sha256)
    path.chmod(0o600)
    with h5py.File(path, "r+") as file:
        level0 = file["levels/0"]
        level0[0, 0, 0] = int(level0[0, 0, 0]) + 1
    versions = _count(ctx, DatasetVersion)

    worker.work(burst=True)

    ctx.uow.session.expire_all()
    view = runs.get_run(ctx, run.id)
    assert view.state.status == "failed"
    assert f"input image (version {source.id}): array digest" in view.result.error
    assert f"differs from the recorded {canonical.array_digest}" in view.result.error
    assert view.result.outputs == []
    assert _count(ctx, DatasetVersion) == versions
