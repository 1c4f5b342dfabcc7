"""Viewer fixtures: the app with the IIIF and viewer blueprints, prepared images, a login."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from rq import SimpleWorker

from lims.api import iiif
from lims.runtime.resources import Resources
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from lims.settings import Settings
from lims.web.app import create_app
from lims.web.viewer import views as viewer_views
from tests.factories import DEFAULT_PASSWORD, make_sample

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PROJECT, SAMPLE = "Battery", "Cell 7"


def with_viewer_blueprints(app: Flask) -> Flask:
    """Register the IIIF and viewer blueprints unless the app factory already does."""
    if "iiif" not in app.blueprints:
        app.register_blueprint(iiif.blueprint)
    if "viewer" not in app.blueprints:
        app.register_blueprint(viewer_views.blueprint)
    return app


@pytest.fixture
def make_app(settings: Settings, resources: Resources) -> Callable[..., Flask]:
    def build(**overrides: object) -> Flask:
        changed = settings.replace(**overrides) if overrides else settings
        built = create_app(changed, resources=dataclasses.replace(resources, settings=changed))
        built.config["TESTING"] = True
        return with_viewer_blueprints(built)

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def log_in(client: FlaskClient, username: str, password: str = DEFAULT_PASSWORD) -> FlaskClient:
    """Post the real login form (its CSRF token taken from the page)."""
    page = client.get("/login")
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, "no CSRF token on the login page"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": found.group(1)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def browser(app: Flask, scientist: object) -> FlaskClient:
    """A client logged in as the microscopist (global role: sees every project)."""
    return log_in(app.test_client(), "mcurie")


class Images:
    """Ingest synthetic images through the real ingest and preparation job."""

    def __init__(self, ctx: ServiceContext, worker: SimpleWorker, folder: Path) -> None:
        self.ctx, self.worker, self.folder = ctx, worker, folder
        make_sample(ctx, PROJECT, SAMPLE)

    def ingest(
        self, name: str, write: Callable[[Path], None], *, prepare: bool = True
    ) -> uuid.UUID:
        source = self.folder / name
        source.mkdir(parents=True)
        write(source)
        version = ingest_path(
            self.ctx, IngestTarget(PROJECT, SAMPLE, name), source, reason="acquired"
        )
        if prepare:
            self.worker.work(burst=True)
            self.ctx.uow.session.expire_all()
        return version.id

    def image(self, array: np.ndarray, name: str = "mosaic") -> uuid.UUID:
        return self.ingest(name, lambda folder: Image.fromarray(array).save(folder / "image.png"))

    def volume(self, array: np.ndarray, name: str = "scan", *, prepare: bool = True) -> uuid.UUID:
        def write(folder: Path) -> None:
            for z, plane in enumerate(array):
                tifffile.imwrite(folder / f"slice_{z:04d}.tif", plane)

        return self.ingest(name, write, prepare=prepare)


@pytest.fixture
def images(ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path) -> Images:
    return Images(ctx, worker, tmp_path / "sources")


IMAGE = np.random.default_rng(3).integers(0, 256, size=(600, 520), dtype=np.uint8)
# Values 0..255 in uint16: with ?min=0&max=255 the windowed planes equal the stored values.
VOLUME = np.random.default_rng(5).integers(0, 256, size=(40, 300, 270), dtype=np.uint16)


@pytest.fixture
def image_id(images: Images) -> str:
    return str(images.image(IMAGE))


@pytest.fixture
def volume_id(images: Images) -> str:
    return str(images.volume(VOLUME))
