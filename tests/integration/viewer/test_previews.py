"""Catalogue previews: thumbnail, mid-plane orthoslices and MIP, access-checked and cached."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.services.catalogue import create_project
from lims.services.context import ServiceContext
from tests.factories import as_project_admin, make_user
from tests.integration.viewer.conftest import log_in


@pytest.mark.parametrize("kind", ["thumbnail", "ortho_z", "ortho_y", "ortho_x", "mip"])
def test_volume_previews_are_pngs_cached_by_digest(
    browser: FlaskClient, volume_id: str, kind: str
) -> None:
    response = browser.get(f"/versions/{volume_id}/preview/{kind}.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert max(Image.open(io.BytesIO(response.data)).size) <= 256
    again = browser.get(
        f"/versions/{volume_id}/preview/{kind}.png",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_version_and_sample_pages_show_the_previews(browser: FlaskClient, volume_id: str) -> None:
    page = browser.get(f"/versions/{volume_id}").get_data(as_text=True)
    assert f"/versions/{volume_id}/preview/mip.png" in page
    assert "Image view: ready" in page


def test_unknown_kind_and_invisible_versions_are_404(
    app: Flask, browser: FlaskClient, volume_id: str, uow: UnitOfWork, ctx: ServiceContext
) -> None:
    assert browser.get(f"/versions/{volume_id}/preview/secret.png").status_code == 404
    other = create_project(as_project_admin(ctx), name="Other project")
    uow.commit()
    make_user(uow, "outsider", roles=set(), project_roles={other.id: {Role.VIEWER}})
    stranger = log_in(app.test_client(), "outsider")
    assert stranger.get(f"/versions/{volume_id}/preview/thumbnail.png").status_code == 404


def test_sample_and_dataset_pages_link_thumbnails_to_the_viewer(
    browser: FlaskClient, volume_id: str, ctx: ServiceContext
) -> None:
    from lims.services import catalogue
    from tests.integration.viewer.conftest import PROJECT, SAMPLE

    sample = catalogue.find_sample(ctx, PROJECT, SAMPLE)
    sample_page = browser.get(f"/samples/{sample.id}").get_data(as_text=True)
    assert f"/versions/{volume_id}/preview/thumbnail.png" in sample_page
    dataset_id = catalogue.get_version(ctx, __import__("uuid").UUID(volume_id)).dataset_id
    dataset_page = browser.get(f"/datasets/{dataset_id}").get_data(as_text=True)
    assert f"/versions/{volume_id}/view" in dataset_page
    assert "View v1 in the browser" in dataset_page
