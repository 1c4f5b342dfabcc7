"""Replay: same inputs by digest, step versions, parameters and seed give identical outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from rq import SimpleWorker
from sqlalchemy import select

from audit import AuditEvent
from lims.errors import ConflictError
from lims.models import DatasetVersion
from lims.services import runs, workflows
from lims.services.context import ServiceContext
from processing import execution
from processing.steps import ALL_STEPS
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, two_spheres

MASK_STEPS = {"segment.watershed", "segment.label", "measure.porosity", "measure.surface_area"}
LABEL_STEPS = {"measure.particles"}
PARAMETERS: dict[str, dict[str, Any]] = {
    "roi.crop": {
        "z_start": 2,
        "z_stop": 20,
        "y_start": 4,
        "y_stop": 40,
        "x_start": 0,
        "x_stop": 50,
    },
    "filter.nlmeans": {"h": 50.0, "patch_size": 3, "patch_distance": 2},
    "segment.threshold": {"threshold": 500.0},
}


def _run_to_end(ctx: ServiceContext, worker: SimpleWorker, run_id: Any) -> runs.RunView:
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    return runs.get_run(ctx, run_id)


def _input_for(name: str) -> np.ndarray:
    volume = two_spheres((24, 40, 56))
    if name in MASK_STEPS:
        return (volume > 500).astype(np.uint8)
    if name in LABEL_STEPS:
        labels = np.zeros(volume.shape, np.uint8)
        labels[4:10, 5:12, 5:14] = 1
        labels[14:22, 20:33, 30:50] = 2
        return labels
    return volume


@pytest.mark.req("REP-01", "AL-05")
@pytest.mark.parametrize("spec", ALL_STEPS, ids=lambda s: f"{s.name}-v{s.version}")
def test_every_shipped_step_replays_identically(
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., DatasetVersion],
    spec: Any,
) -> None:
    source = ingest_volume(_input_for(spec.name))
    steps = [
        {"name": spec.name, "version": spec.version, "parameters": PARAMETERS.get(spec.name, {})}
    ]
    workflow = workflows.create_workflow(ctx, name=f"only {spec.name}", steps=steps)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    original = _run_to_end(ctx, worker, run.id)
    assert original.state.status == "succeeded", original.result and original.result.error

    replay = runs.replay(ctx, run.id)
    ctx.uow.commit()
    replayed = _run_to_end(ctx, worker, replay.id)
    assert replayed.state.status == "succeeded", replayed.result and replayed.result.error
    report = replayed.result.replay
    assert report["verdict"] == "identical", report
    assert report["environment_differences"] == {}
    assert [a["replay"] for a in report["arrays"]] == [
        o["array_digest"] for o in original.result.outputs
    ]


@pytest.mark.req("REP-01", "P11-11", "DI-08")
def test_replay_of_the_particle_run_is_identical_and_audited(
    ctx: ServiceContext, worker: SimpleWorker, ingest_volume: Callable[..., DatasetVersion]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    _run_to_end(ctx, worker, run.id)
    versions_before = ctx.uow.session.scalars(select(DatasetVersion.id)).all()

    replay = runs.replay(ctx, run.id, reason="audit 2031")
    ctx.uow.commit()
    view = _run_to_end(ctx, worker, replay.id)
    assert view.run.kind == "replay"
    assert view.run.replay_of_id == run.id
    assert view.run.seed == run.seed
    assert view.run.steps == run.steps
    report = view.result.replay
    assert report["verdict"] == "identical"
    assert {t["port"]: t["identical"] for t in report["tables"]} == {"particles": True}
    assert ctx.uow.session.scalars(select(DatasetVersion.id)).all() == versions_before
    actions = ctx.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(replay.id))
    ).all()
    assert actions == ["run.replay", "run.succeeded"]
    assert [r.id for r in runs.get_run(ctx, run.id).replays] == [replay.id]


@pytest.mark.req("REP-01")
def test_a_changed_output_is_reported_different_with_a_numeric_summary(
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., DatasetVersion],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    _run_to_end(ctx, worker, run.id)

    real = execution.run_workflow

    def drifting(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        labels = np.array(result.arrays["labels"])
        labels[0, 0, :4] = 7
        return type(result)(
            result.steps, {**result.arrays, "labels": labels}, result.tables, result.voxel_size_um
        )

    monkeypatch.setattr(execution, "run_workflow", drifting)
    replay = runs.replay(ctx, run.id)
    ctx.uow.commit()
    report = _run_to_end(ctx, worker, replay.id).result.replay
    assert report["verdict"] == "different"
    [labels] = report["arrays"]
    assert labels["identical"] is False
    assert labels["original"] != labels["replay"]
    assert labels["max_abs_difference"] == 7.0
    assert labels["fraction_differing"] == pytest.approx(4 / two_spheres().size)


@pytest.mark.req("P11-11")
def test_replay_of_a_run_that_has_not_finished_is_refused_with_409_and_a_denied_event(
    ctx: ServiceContext, ingest_volume: Callable[..., DatasetVersion]
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    with pytest.raises(ConflictError, match="only a run that has succeeded can be replayed"):
        runs.replay(ctx, run.id)
    actions = ctx.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(run.id))
    ).all()
    assert actions == ["run.submit", "run.replay_denied"]
    assert runs.get_run(ctx, run.id).replays == []
