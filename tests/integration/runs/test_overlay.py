"""A label image made by a run shows as a coloured overlay over its input in the viewer."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from rq import SimpleWorker

from lims.imaging.labels import colour_labels
from lims.services import runs, workflows
from lims.services.context import ServiceContext
from tests.integration.runs.conftest import OTSU_LABEL_PARTICLES, two_spheres
from tests.integration.web.conftest import (  # noqa: F401 - fixtures
    app,
    csrf_token,
    log_in,
)


def test_labels_get_stable_colours_and_a_clear_background() -> None:
    labels = np.array([[0, 1, 2], [2, 1, 0]])
    rgba = colour_labels(labels)
    assert rgba.shape == (2, 3, 4)
    assert rgba[0, 0, 3] == 0
    assert rgba[0, 1, 3] == 255
    assert (rgba[0, 1] == rgba[1, 1]).all()
    assert not (rgba[0, 1] == rgba[0, 2]).all()


def test_run_output_is_drawn_over_the_input(
    app: Flask,  # noqa: F811
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., Any],
    scientist: object,
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Label", steps=OTSU_LABEL_PARTICLES[:2])
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    result = runs.get_run(ctx, run.id).result
    assert result is not None
    label_id = result.outputs[0]["version_id"]
    client: FlaskClient = app.test_client()
    assert log_in(client, "mcurie").status_code == 302

    run_page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert f"/versions/{source.id}/view?overlay={label_id}" in run_page
    page = client.get(f"/versions/{source.id}/view?overlay={label_id}").get_data(as_text=True)
    assert f'data-overlay="{label_id}"' in page
    tile = client.get(f"/iiif/3/{label_id}~z~12/full/max/0/default.png")
    assert tile.status_code == 200, tile.get_data(as_text=True)
    image = Image.open(io.BytesIO(tile.data))
    assert image.mode == "RGBA"
    alpha = np.asarray(image)[..., 3]
    assert alpha.min() == 0, "background is transparent"
    assert alpha.max() == 255, "labelled voxels are opaque"

    wrong = client.get(f"/versions/{source.id}/view?overlay={source.id}").get_data(as_text=True)
    assert "not a label image" in wrong
    assert 'data-overlay=""' in wrong
