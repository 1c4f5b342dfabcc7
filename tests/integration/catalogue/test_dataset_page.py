"""Dataset page: versions with a field-by-field diff, tags (audited), lineage, audit history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import select

from audit import AuditEvent
from lims.models import DatasetVersion, SavedSearch, Tag
from lims.services import changes, runs, workflows
from lims.services.context import ServiceContext
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, two_spheres
from tests.integration.search.conftest import Catalogue
from tests.integration.web.conftest import csrf_token, log_in


def test_compare_two_versions_field_by_field(
    logged_in: FlaskClient, ctx: ServiceContext, data: Catalogue
) -> None:
    dataset = data.datasets["cell_ct"]
    changes.amend_metadata(
        ctx,
        dataset,
        {"modality": "CT volume", "instrument": "Zeiss Versa 620", "voltage_kv": 90},
        reason="added the voltage",
    )
    ctx.uow.commit()
    page = logged_in.get(f"/datasets/{dataset}")
    assert 'action="/datasets/' in page.get_data(as_text=True)
    html = logged_in.get(f"/datasets/{dataset}/compare?old=1&new=2").get_data(as_text=True)
    assert "v1 → v2" in html
    assert '<tr class="diff-added">' in html
    assert "voltage_kv" in html
    assert '<tr class="diff-removed">' in html  # electrolyte, operator, acquired_at dropped
    assert "added the voltage" in html
    assert "cell7_cycle100.nrrd" in html


@pytest.mark.parametrize(
    ("query", "status"),
    [("old=1&new=1", 400), ("old=1&new=9", 404), ("old=a&new=2", 400), ("", 400)],
    ids=["same", "missing", "not-a-number", "none"],
)
def test_bad_comparisons_are_refused(
    logged_in: FlaskClient, data: Catalogue, query: str, status: int
) -> None:
    response = logged_in.get(f"/datasets/{data.datasets['cell_ct']}/compare?{query}")
    assert response.status_code == status


def test_tags_are_added_and_removed_with_audit(
    logged_in: FlaskClient, ctx: ServiceContext, data: Catalogue
) -> None:
    dataset = data.datasets["femur_raw"]
    page = f"/datasets/{dataset}"
    token = csrf_token(logged_in, page)
    added = logged_in.post(f"{page}/tags", data={"label": "  Needs  Review ", "csrf_token": token})
    assert added.status_code == 302
    html = logged_in.get(page).get_data(as_text=True)
    assert '<span class="tag" title="added by' in html
    assert "needs review" in html
    tag = ctx.uow.session.scalars(select(Tag).where(Tag.dataset_id == dataset)).one()
    for label, message in [("needs review", "already tagged"), ("<b>", "starts with"), ("", "")]:
        refused = logged_in.post(f"{page}/tags", data={"label": label, "csrf_token": token})
        assert refused.status_code == 302
        shown = logged_in.get(page).get_data(as_text=True)
        assert "not added" in shown
        assert message in shown
    no_reason = logged_in.post(
        f"{page}/tags/remove", data={"tag_id": str(tag.id), "reason": " ", "csrf_token": token}
    )
    assert no_reason.status_code == 302
    assert "needs a reason" in logged_in.get(page).get_data(as_text=True)
    removed = logged_in.post(
        f"{page}/tags/remove", data={"tag_id": str(tag.id), "reason": "done", "csrf_token": token}
    )
    assert removed.status_code == 302
    actions = ctx.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(dataset))
    ).all()
    assert actions.count("tag.add") == 1
    assert actions.count("tag.remove") == 1
    assert "tag.add" in logged_in.get(page).get_data(as_text=True)  # audit history on the page


@pytest.mark.req("DI-10")
def test_inspector_reads_everything_and_changes_nothing(
    app: Flask, auditor: ServiceContext, data: Catalogue
) -> None:
    client = app.test_client()
    assert log_in(client, "inspector").status_code == 302
    dataset = data.datasets["femur_raw"]
    assert client.get(f"/datasets/{dataset}").status_code == 200
    assert "3 datasets" in client.get("/catalogue").get_data(as_text=True)
    assert "femur raw scan" in client.get("/search?q=femur").get_data(as_text=True)
    token = csrf_token(client, f"/datasets/{dataset}")
    assert (
        client.post(
            f"/datasets/{dataset}/tags", data={"label": "x", "csrf_token": token}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/search/saved", data={"name": "mine", "query": "q=x", "csrf_token": token}
        ).status_code
        == 403
    )
    assert auditor.uow.session.scalars(select(Tag).where(Tag.label == "x")).all() == []
    assert auditor.uow.session.scalars(select(SavedSearch)).all() == []


@pytest.mark.req("AL-04")
def test_lineage_shows_the_run_and_its_output(
    logged_in: FlaskClient,
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., DatasetVersion],
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    result = runs.get_run(ctx, run.id).result
    assert result is not None
    output = result.outputs[0]["dataset_id"]
    upstream = logged_in.get(f"/datasets/{source.dataset_id}").get_data(as_text=True)
    assert f"/runs/{run.id}" in upstream
    assert f"/datasets/{output}" in upstream
    downstream = logged_in.get(f"/datasets/{output}").get_data(as_text=True)
    assert f"/runs/{run.id}" in downstream
    assert f"/datasets/{source.dataset_id}" in downstream
    found = logged_in.get("/search?q=otsu&kind=dataset").get_data(as_text=True)
    assert f"/datasets/{output}" in found  # step names of the run that made it
