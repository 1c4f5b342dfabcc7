"""The IIIF Image API 3.0 over prepared versions: info.json, images, errors, caching, access."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.imaging.pyramid import downsample
from lims.services.catalogue import create_project
from lims.services.context import ServiceContext
from tests.factories import make_user
from tests.integration.viewer.conftest import IMAGE, VOLUME, log_in

LD_JSON = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'


def _decode(response) -> np.ndarray:
    assert response.status_code == 200, response.get_data(as_text=True)
    return np.asarray(Image.open(io.BytesIO(response.data)))


def _views(uow: UnitOfWork, version: str) -> int:
    uow.session.expire_all()
    return uow.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "version.view", AuditEvent.object_id == version)
    )


def test_info_json_describes_the_image(browser: FlaskClient, image_id: str) -> None:
    response = browser.get(f"/iiif/3/{image_id}/info.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == LD_JSON
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    info = response.get_json(force=True)
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    # The base URI is a signed tile link (tests/integration/viewer/test_tile_links.py).
    assert info["id"].startswith("http://localhost/iiif/3/s/")
    assert info["id"].endswith(f"/{image_id}")
    assert (info["type"], info["protocol"], info["profile"]) == (
        "ImageService3",
        "http://iiif.io/api/image",
        "level1",
    )
    assert (info["width"], info["height"]) == (520, 600)
    assert info["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4]}]
    assert info["sizes"][-1] == {"width": 520, "height": 600}
    assert "png" in info["extraFormats"]


def test_the_base_uri_redirects_to_info_json(browser: FlaskClient, image_id: str) -> None:
    response = browser.get(f"/iiif/3/{image_id}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/iiif/3/{image_id}/info.json")


def test_a_full_size_png_is_the_source_pixels(browser: FlaskClient, image_id: str) -> None:
    pixels = _decode(browser.get(f"/iiif/3/{image_id}/full/max/0/default.png"))
    assert pixels.dtype == np.uint8
    assert np.array_equal(pixels, IMAGE)


@pytest.mark.parametrize(
    ("request_path", "size"),
    [
        ("0,0,256,256/256,/0/default.jpg", (256, 256)),
        ("256,256,256,256/256,256/0/default.png", (256, 256)),
        ("512,512,256,256/max/0/default.png", (8, 88)),  # edge tile, cropped to the image
        ("0,0,512,512/256,/0/default.jpg", (256, 256)),  # level 1
        ("0,0,520,600/130,/0/default.png", (130, 150)),  # level 2
        ("full/!100,100/0/default.jpg", (87, 100)),
        ("full/pct:10/0/gray.jpg", (52, 60)),
        ("square/64,64/90/default.png", (64, 64)),
        ("pct:0,0,50,50/^400,/0/default.png", (400, 462)),
        ("full/,300/!90/default.jpg", (300, 260)),  # mirrored, turned: width and height swap
    ],
)
def test_tiles_decode_to_the_requested_size(
    browser: FlaskClient, image_id: str, request_path: str, size: tuple[int, int]
) -> None:
    pixels = _decode(browser.get(f"/iiif/3/{image_id}/{request_path}"))
    assert (pixels.shape[1], pixels.shape[0]) == size


def test_a_scaled_request_reads_the_pyramid_level(browser: FlaskClient, image_id: str) -> None:
    pixels = _decode(browser.get(f"/iiif/3/{image_id}/full/260,/0/default.png"))
    expected = downsample(IMAGE, 2)
    assert pixels.shape == expected.shape
    assert np.abs(pixels.astype(int) - expected.astype(int)).max() <= 1


def test_volume_planes_have_their_own_ids(browser: FlaskClient, volume_id: str) -> None:
    for axis, index, (width, height), plane in (
        ("z", 7, (270, 300), VOLUME[7]),
        ("y", 150, (270, 40), VOLUME[:, 150, :]),
        ("x", 269, (300, 40), VOLUME[:, :, 269]),
    ):
        image_id = f"{volume_id}~{axis}~{index}"
        info = browser.get(f"/iiif/3/{image_id}/info.json").get_json(force=True)
        assert (info["width"], info["height"]) == (width, height)
        assert info["id"].endswith(image_id)
        pixels = _decode(browser.get(f"/iiif/3/{image_id}/full/max/0/default.png?min=0&max=255"))
        assert np.array_equal(pixels, plane.astype(np.uint8)), axis


def test_16_bit_data_gets_the_automatic_window_unless_one_is_given(
    browser: FlaskClient, volume_id: str
) -> None:
    path = f"/iiif/3/{volume_id}~z~3/full/max/0/default.png"
    automatic = _decode(browser.get(path))
    assert (automatic.min(), automatic.max()) == (0, 255), "0.5-99.5 % spans 0..255"
    wide = _decode(browser.get(path + "?min=0&max=1020"))
    assert wide.max() <= 64


def test_the_value_under_the_cursor_is_the_raw_voxel(browser: FlaskClient, volume_id: str) -> None:
    answer = browser.get(f"/iiif/3/{volume_id}~y~12/value?x=34&y=5").get_json()
    assert answer["voxel"] == {"z": 5, "y": 12, "x": 34}
    assert answer["value"] == int(VOLUME[5, 12, 34])


def test_unchanged_tiles_answer_304(browser: FlaskClient, image_id: str) -> None:
    path = f"/iiif/3/{image_id}/0,0,256,256/256,/0/default.jpg"
    first = browser.get(path)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    again = browser.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.data == b""
    windowed = browser.get(path + "?min=10&max=200")
    assert windowed.headers["ETag"] != tag
    info = browser.get(f"/iiif/3/{image_id}/info.json")
    revalidated = browser.get(
        f"/iiif/3/{image_id}/info.json", headers={"If-None-Match": info.headers["ETag"]}
    )
    assert revalidated.status_code == 304


def test_tiles_are_rendered_once_into_the_cache(
    make_app: Callable[..., Flask], image_id: str, scientist: Identity, tmp_path
) -> None:
    cache = tmp_path / "tile-cache"
    client = log_in(make_app(tile_cache_dir=cache).test_client(), scientist.username)
    path = f"/iiif/3/{image_id}/0,0,256,256/128,/0/default.png"
    first = client.get(path)
    files = list(cache.rglob("*.png"))
    assert len(files) == 1
    assert files[0].read_bytes() == first.data
    stamp = files[0].stat().st_mtime_ns
    assert client.get(path).data == first.data
    assert files[0].stat().st_mtime_ns == stamp, "served from the cache, not rendered again"


def test_behind_nginx_tiles_are_sent_by_x_accel_redirect(
    make_app: Callable[..., Flask], image_id: str, scientist: Identity, tmp_path
) -> None:
    cache = tmp_path / "tile-cache"
    app = make_app(tile_cache_dir=cache, tile_accel_prefix="/_tiles/")
    client = log_in(app.test_client(), scientist.username)
    response = client.get(f"/iiif/3/{image_id}/full/100,/0/default.jpg")
    assert response.status_code == 200
    assert response.data == b""
    target = response.headers["X-Accel-Redirect"]
    assert target.startswith("/_tiles/")
    assert (cache / target.removeprefix("/_tiles/")).read_bytes()[:3] == b"\xff\xd8\xff"
    assert response.headers["Content-Type"] == "image/jpeg"


BAD_IMAGE_REQUESTS = [
    ("600,0,10,10/max/0/default.jpg", 400),  # region outside the image
    ("0,700,10,10/max/0/default.jpg", 400),
    ("0,0,0,10/max/0/default.jpg", 400),  # no area
    ("a,b,c,d/max/0/default.jpg", 400),
    ("full/0,/0/default.jpg", 400),
    ("full/huge/0/default.jpg", 400),
    ("full/1000,/0/default.jpg", 400),  # upscaling without ^
    ("full/^20000,/0/default.jpg", 400),  # beyond maxArea
    ("full/max/400/default.jpg", 400),
    ("full/max/45/default.jpg", 501),
    ("full/max/0/bitonal.jpg", 501),
    ("full/max/0/default.webp", 501),
    ("full/max/0/fancy.jpg", 400),
    ("full/max/0/default", 400),
    ("full/max/0/default.jpg?min=5", 400),
    ("full/max/0/default.jpg?min=9&max=3", 400),
    ("full/max/0/default.jpg?min=a&max=3", 400),
]


@pytest.mark.parametrize(("request_path", "status"), BAD_IMAGE_REQUESTS)
def test_bad_image_requests_get_a_short_message(
    browser: FlaskClient, image_id: str, request_path: str, status: int
) -> None:
    response = browser.get(f"/iiif/3/{image_id}/{request_path}")
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain")
    assert 0 < len(response.data) < 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("suffix", "status"),
    [
        ("~z~40/info.json", 404),  # plane index out of range (0..39)
        ("~x~270/full/max/0/default.jpg", 404),
        ("~q~1/info.json", 404),  # no such axis
        ("~z~-1/info.json", 404),
        ("~z/info.json", 404),
        ("/info.json", 404),  # a volume needs a plane
        ("~y~3/value?x=270&y=0", 400),  # outside the plane
        ("~y~3/value?x=one&y=0", 400),
    ],
)
def test_bad_volume_ids_are_refused(
    browser: FlaskClient, volume_id: str, suffix: str, status: int
) -> None:
    response = browser.get(f"/iiif/3/{volume_id}{suffix}")
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "image", ["not-a-version", "0b5d3c52-7d4e-4c55-9d3e-5f3f2f1a9e10", "IMAGE~z~0"]
)
def test_unknown_images_are_404(browser: FlaskClient, image_id: str, image: str) -> None:
    image = image.replace("IMAGE", image_id)  # a 2D image has no planes
    for path in (f"/iiif/3/{image}/info.json", f"/iiif/3/{image}/full/max/0/default.jpg"):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"].startswith("text/plain")


def test_a_user_without_access_to_the_project_gets_404(
    app: Flask, uow: UnitOfWork, admin_ctx: ServiceContext, image_id: str
) -> None:
    other = create_project(admin_ctx, name="Other project")
    uow.commit()
    make_user(uow, "outsider", roles=set(), project_roles={other.id: {Role.MICROSCOPIST}})
    client = log_in(app.test_client(), "outsider")
    for path in (
        f"/iiif/3/{image_id}/info.json",
        f"/iiif/3/{image_id}/full/max/0/default.png",
        f"/iiif/3/{image_id}/value?x=1&y=1",
        f"/versions/{image_id}/view",
    ):
        assert client.get(path).status_code == 404, path
    assert _views(uow, image_id) == 0


def test_anonymous_requests_go_to_the_login_page(app: Flask, image_id: str) -> None:
    client = app.test_client()
    for path in (f"/iiif/3/{image_id}/info.json", f"/iiif/3/{image_id}/full/max/0/default.png"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_first_opening_per_session_is_audited_once(
    app: Flask, uow: UnitOfWork, browser: FlaskClient, volume_id: str, scientist: Identity
) -> None:
    for axis in "zyx":
        assert browser.get(f"/iiif/3/{volume_id}~{axis}~3/info.json").status_code == 200
    browser.get(f"/iiif/3/{volume_id}~z~3/full/max/0/default.jpg")
    assert _views(uow, volume_id) == 1
    other_session = log_in(app.test_client(), scientist.username)
    other_session.get(f"/iiif/3/{volume_id}~z~4/info.json")
    other_session.get(f"/iiif/3/{volume_id}~z~5/info.json")
    assert _views(uow, volume_id) == 2
