"""Submit, execute, read, replay and cancel runs through the API, with a real RQ worker."""

from __future__ import annotations

from pathlib import Path

import pytest
import tifffile
from rq import SimpleWorker
from sqlalchemy import func, select

from lims.models import DatasetVersion, Run
from lims.services import runs, workflows
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import make_sample
from tests.integration.api.conftest import Api, error_of
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, set_gxp, two_spheres


@pytest.fixture
def prepared(ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path) -> DatasetVersion:
    make_sample(ctx, "Research", "Cell 7")
    set_gxp(ctx, "Research", is_gxp=False)
    folder = tmp_path / "stack"
    folder.mkdir()
    for z, plane in enumerate(two_spheres()):
        tifffile.imwrite(folder / f"slice_{z:04d}.tif", plane)
    version = ingest_path(
        ctx, IngestTarget("Research", "Cell 7", "scan"), folder, reason="acquired"
    )
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    return version


def _runs(ctx: ServiceContext) -> int:
    return ctx.uow.session.scalar(select(func.count()).select_from(Run)) or 0


def test_submit_execute_read_and_replay_a_run(
    api: Api, ctx: ServiceContext, worker: SimpleWorker, prepared: DatasetVersion
) -> None:
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    ctx.uow.commit()
    listed = api.get("/api/v1/workflows").get_json()["items"]
    assert [w["name"] for w in listed] == ["Particles"]

    submitted = api.post(
        "/api/v1/runs", json={"workflow_id": str(workflow.id), "version_id": str(prepared.id)}
    )
    assert submitted.status_code == 201, submitted.get_data(as_text=True)
    run = submitted.get_json()
    assert run["status"] == "queued"
    assert run["inputs"][0]["version_id"] == str(prepared.id)
    assert run["steps"][0]["name"] == "segment.otsu"

    worker.work(burst=True)
    ctx.uow.session.expire_all()
    done = api.get(run["url"]).get_json()
    assert done["status"] == "succeeded", done
    assert done["result"]["outputs"], "outputs with their digests"
    assert all(len(o["array_digest"]) == 64 for o in done["result"]["outputs"])
    assert [r["id"] for r in api.get("/api/v1/runs").get_json()["items"]] == [run["id"]]

    replay = api.post(f"/api/v1/runs/{run['id']}/replay", json={"reason": "audit check"})
    assert replay.status_code == 201, replay.get_data(as_text=True)
    assert replay.get_json()["kind"] == "replay"
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    replayed = api.get(replay.get_json()["url"]).get_json()
    assert replayed["status"] == "succeeded"
    assert replayed["result"]["replay"] is not None


def test_refused_submissions_create_nothing(
    api: Api, ctx: ServiceContext, prepared: DatasetVersion
) -> None:
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    ctx.uow.commit()
    body = {"workflow_id": str(workflow.id), "version_id": str(prepared.id)}
    assert api.post("/api/v1/runs", json=body).status_code == 201
    before = _runs(ctx)
    again = api.post("/api/v1/runs", json=body)
    assert again.status_code == 400
    assert "give a reason to reprocess" in error_of(again)["message"]
    wrong_port = api.post(
        "/api/v1/runs",
        json={"workflow_id": str(workflow.id), "inputs": {"nonsense": str(prepared.id)}},
    )
    assert wrong_port.status_code == 400
    assert "needs an input" in error_of(wrong_port)["message"]
    unknown = api.post(
        "/api/v1/runs", json={"workflow_id": str(prepared.id), "version_id": str(prepared.id)}
    )
    assert unknown.status_code == 404
    assert _runs(ctx) == before


def test_cancel_needs_a_reason_and_a_running_run(
    api: Api, ctx: ServiceContext, worker: SimpleWorker, prepared: DatasetVersion
) -> None:
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    ctx.uow.commit()
    run = api.post(
        "/api/v1/runs", json={"workflow_id": str(workflow.id), "version_id": str(prepared.id)}
    ).get_json()
    no_reason = api.post(f"/api/v1/runs/{run['id']}/cancel", json={"reason": " "})
    assert no_reason.status_code == 400
    assert "needs a reason" in error_of(no_reason)["message"]
    cancelled = api.post(f"/api/v1/runs/{run['id']}/cancel", json={"reason": "wrong input"})
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert cancelled.get_json()["status"] == "cancelled"
    twice = api.post(f"/api/v1/runs/{run['id']}/cancel", json={"reason": "again"})
    assert twice.status_code == 409
    assert error_of(twice)["code"] == "conflict"


def test_runs_page_newest_first_by_keyset_and_refuse_a_foreign_cursor(
    api: Api, ctx: ServiceContext, prepared: DatasetVersion
) -> None:
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    ctx.uow.commit()
    for round_number in range(5):
        runs.submit(ctx, workflow.id, prepared.id, reason=f"round {round_number}")
        ctx.uow.commit()
    expected = [str(run.id) for run, _ in runs.list_runs(ctx)]

    pages, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = api.get("/api/v1/runs", **params).get_json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [run_id for page in pages for run_id in page] == expected
    first_cursor = api.get("/api/v1/runs", limit="2").get_json()["next_cursor"]
    foreign = api.get("/api/v1/runs", limit="2", status="queued", cursor=first_cursor)
    assert foreign.status_code == 400
    assert "another list" in error_of(foreign)["message"]
