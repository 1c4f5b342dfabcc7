"""Submit a workflow, execute it on a real RQ worker, and find its outputs and record."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from audit import AuditEvent
from lims.models import Dataset, DatasetVersion, Run, RunResult, User
from lims.services import notifications, runs, workflows
from lims.services.context import ServiceContext
from lims.services.preparation import derivatives_of
from lims.storage.arrays import CanonicalArray, array_digest
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, two_spheres


def _actions(ctx: ServiceContext, object_id: object) -> list[str]:
    return list(
        ctx.uow.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.seq)
        )
    )


@pytest.mark.req("REP-01", "DI-07", "AL-01")
def test_otsu_label_particles_makes_a_label_version_and_a_table_of_two_particles(
    ctx: ServiceContext, worker: SimpleWorker, ingest_volume: Callable[..., DatasetVersion], mailbox
) -> None:
    volume = two_spheres()
    source = ingest_volume(volume)
    user = ctx.uow.session.get(User, ctx.require_identity().user_id)
    user.email = "mcurie@example.org"
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    assert runs.get_run(ctx, run.id).state.status == "queued"
    assert run.inputs[0]["array_digest"] == array_digest(volume)
    assert [s["name"] for s in run.steps] == ["segment.otsu", "segment.label", "measure.particles"]
    assert all(len(s["code_digest"]) == 64 and len(s["parameters_sha256"]) == 64 for s in run.steps)

    worker.work(burst=True)
    ctx.uow.session.expire_all()

    view = runs.get_run(ctx, run.id)
    assert view.state.status == "succeeded", view.result and view.result.error
    result = view.result
    assert result is not None
    assert result.status == "succeeded"
    assert result.worker_host
    assert result.environment["packages"]["numpy"]
    assert result.peak_memory_bytes
    assert result.peak_memory_bytes > 0
    assert "array digest" in result.log
    [output] = result.outputs
    assert output["port"] == "labels"
    assert output["kind"] == "label"
    version = ctx.uow.session.get(DatasetVersion, output["version_id"])
    assert version.metadata_["derived_from"] == [str(source.id)]
    assert version.metadata_["run_id"] == str(run.id)
    canonical = derivatives_of(ctx, version.id)["canonical"]
    assert canonical.array_digest == output["array_digest"]
    with CanonicalArray(ctx.blobstore.path(canonical.blob_sha256)) as labels:
        data = labels.dataset(0)[...]
        assert labels.info.kind == "label"
    assert set(np.unique(data)) == {0, 1, 2}
    assert array_digest(data) == output["array_digest"]
    table = result.tables["particles"]
    assert len(table["rows"]) == 2
    assert len(table["sha256"]) == 64
    assert runs.table_csv(ctx, run.id, "particles").startswith(b"label")
    assert _actions(ctx, run.id) == ["run.submit", "run.succeeded"]
    assert "version.create" in _actions(ctx, version.id)
    assert [n.subject for n in notifications.list_notifications(ctx, unread_only=True)] == [
        f"Run {run.id.hex[:8]} (Particles) succeeded"
    ]
    [mail] = mailbox.wait_for(1)
    assert "succeeded" in mail["Subject"]


@pytest.mark.req("P11-12")
def test_validated_steps_run_on_gxp_data(
    ctx: ServiceContext, worker: SimpleWorker, ingest_volume: Callable[..., DatasetVersion]
) -> None:
    source = ingest_volume(two_spheres(), project="GxP study", is_gxp=True)
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    assert runs.get_run(ctx, run.id).state.status == "succeeded"
    assert ctx.uow.session.get(Run, run.id).is_gxp


def test_a_second_run_on_the_same_input_needs_a_reason(
    ctx: ServiceContext, ingest_volume: Callable[..., DatasetVersion]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    with pytest.raises(Exception, match="give a reason to reprocess"):
        runs.submit(ctx, workflow.id, source.id)
    again = runs.submit(ctx, workflow.id, source.id, reason="new smoothing study")
    assert again.reason == "new smoothing study"
    ctx.uow.commit()
    assert runs.get_run(ctx, again.id).same_input_runs == 2
    assert ctx.uow.session.scalar(select(func.count()).select_from(Dataset)) >= 1
    assert ctx.uow.session.scalar(select(func.count()).select_from(RunResult)) == 0
