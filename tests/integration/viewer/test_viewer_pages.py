"""The viewer pages: OpenSeadragon for 2D images, the orthoslice viewer for volumes."""

from __future__ import annotations

import numpy as np
from flask.testing import FlaskClient

from tests.integration.viewer.conftest import IMAGE, VOLUME, Images

OSD = "/vendor/openseadragon/build/openseadragon/openseadragon.min.js"


def test_a_volume_opens_in_the_orthoslice_viewer(browser: FlaskClient, volume_id: str) -> None:
    response = browser.get(f"/versions/{volume_id}/view")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-kind="volume"' in page
    assert 'data-shape="[40, 300, 270]"' in page
    for axis in "zyx":
        assert f'id="slice-{axis}"' in page
    assert f'src="{OSD}"' in page
    assert "<script>" not in page, "no inline script (CSP)"
    assert browser.get(OSD).status_code == 200


def test_a_2d_image_opens_in_a_deep_zoom_viewer(browser: FlaskClient, image_id: str) -> None:
    page = browser.get(f"/versions/{image_id}/view").get_data(as_text=True)
    assert 'data-kind="image"' in page
    assert 'id="pane-image"' in page
    assert 'data-window-low="0"' in page
    assert 'data-window-high="255"' in page
    assert IMAGE.shape == (600, 520)


def test_a_version_being_prepared_says_so(browser: FlaskClient, images: Images) -> None:
    version = images.volume(VOLUME[:4], "pending", prepare=False)
    response = browser.get(f"/versions/{version}/view")
    assert response.status_code == 200
    assert "still being prepared" in response.get_data(as_text=True)
    assert browser.get(f"/iiif/3/{version}~z~0/info.json").status_code == 404


def test_a_failed_preparation_shows_why(browser: FlaskClient, images: Images) -> None:
    def broken(folder) -> None:
        (folder / "mosaic.tif").write_bytes(b"II*\x00" + bytes(100))

    version = images.ingest("broken", broken)
    page = browser.get(f"/versions/{version}/view").get_data(as_text=True)
    assert "could not be prepared" in page
    assert np.any(VOLUME)
