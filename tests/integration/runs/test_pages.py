"""The processing pages: workflow form from parameter schemas, submit, run page, queue, replay."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from lims.services.context import ServiceContext
from lims.web.runs import blueprint
from tests.integration.runs.conftest import two_spheres
from tests.integration.web.conftest import (  # noqa: F401 - fixtures
    app,
    csrf_token,
    ldap_settings,
    log_in,
    new_user,
    slapd,
)


@pytest.fixture
def pages(app: Flask, scientist: Any) -> FlaskClient:  # noqa: F811
    if "runs" not in app.blueprints:  # until lims.web.app registers it
        app.register_blueprint(blueprint)
    browser = app.test_client()
    assert log_in(browser, scientist.username).status_code == 302
    return browser


def _post(client: FlaskClient, page: str, action: str, data: dict[str, Any]):
    return client.post(action, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.mark.req("P11-11", "REP-01")
def test_define_submit_watch_and_replay_in_the_browser(
    pages: FlaskClient,
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., Any],
) -> None:
    source = ingest_volume(two_spheres())
    assert "segment.otsu" in pages.get("/workflows").get_data(as_text=True)
    form_page = "/workflows/new?step=segment.otsu:1&step=segment.label:1&step=measure.particles:1"
    form = pages.get(form_page).get_data(as_text=True)
    assert 'name="s0-bins"' in form
    assert "Histogram bins" in form
    assert "from 2 to 65536" in form
    steps = ["segment.otsu:1", "segment.label:1", "measure.particles:1"]
    refused = _post(pages, form_page, "/workflows", {"step": steps, "name": "P", "s0-bins": "1"})
    assert refused.status_code == 400
    assert "parameter bins = 1 is below 2" in refused.get_data(as_text=True)
    created = _post(
        pages, form_page, "/workflows", {"step": steps, "name": "Particles", "s0-bins": "256"}
    )
    assert created.status_code == 302, created.get_data(as_text=True)

    process = f"/versions/{source.id}/process"
    page = pages.get(process).get_data(as_text=True)
    workflow_id = re.search(r'<option value="([0-9a-f-]{36})"', page).group(1)
    submitted = _post(pages, process, process, {"workflow_id": workflow_id})
    assert submitted.status_code == 302, submitted.get_data(as_text=True)
    run_url = submitted.headers["Location"]
    assert "queued" in pages.get("/runs").get_data(as_text=True)
    early = _post(pages, run_url, f"{run_url}/replay", {})
    assert early.status_code == 409

    worker.work(burst=True)
    ctx.uow.session.expire_all()
    run_page = pages.get(run_url).get_data(as_text=True)
    assert "succeeded" in run_page
    assert "Table particles" in run_page
    assert pages.get(f"{run_url}/tables/particles.csv").data.startswith(b"label")
    plot = pages.get(f"{run_url}/tables/particles.png")
    assert plot.status_code == 200
    assert plot.data[:4] == b"\x89PNG"
    histogram = pages.get(f"{run_url}/histogram.png")
    assert histogram.data[:4] == b"\x89PNG", histogram.get_data(as_text=True)[-600:]

    replayed = _post(pages, run_url, f"{run_url}/replay", {"reason": "check"})
    assert replayed.status_code == 302
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    assert 'Replay verdict: <span class="verdict verdict-identical">IDENTICAL' in pages.get(
        replayed.headers["Location"]
    ).get_data(as_text=True)

    # the submitter was told of both ends, in the app, and the notice leads to the run
    assert 'aria-label="2 unread"' in pages.get("/runs").get_data(as_text=True)
    inbox = pages.get("/notifications").get_data(as_text=True)
    assert "(Particles) succeeded" in inbox
    assert "replay identical" in inbox
    row = next(r for r in inbox.split("<tr") if "succeeded" in r and "replay" not in r)
    action = re.search(r'action="(/notifications/[0-9a-f-]{36}/open)"', row).group(1)
    opened = _post(pages, "/notifications", action, {})
    assert opened.headers["Location"] == run_url
    assert 'aria-label="1 unread"' in pages.get("/runs").get_data(as_text=True)
