"""Signed tile links: issued by info.json after the access check, checked on every tile."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from lims.api import tilelinks
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.services.catalogue import create_project
from lims.services.context import ServiceContext
from tests.factories import make_user
from tests.integration.viewer.conftest import IMAGE, log_in
from tests.integration.web.conftest import csrf_token

SECRET = "a tile link secret for tests"
LINK = re.compile(r"http://localhost/iiif/3/s/(\d+)/([A-Za-z0-9_-]{22})/([0-9a-f]{64})/(.+)$")
TILE = "0,0,256,256/256,256/0/default.jpg"


@pytest.fixture
def link_app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(tile_cache_dir=tmp_path / "tiles", tile_link_secret=SECRET)


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("ctvault_session")
    assert cookie is not None
    return cookie.value


def _signed_base(client: FlaskClient, image_id: str) -> str:
    response = client.get(f"/iiif/3/{image_id}/info.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json(force=True)["id"]).removeprefix("http://localhost")


def _stored(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "tiles").rglob("*") if p.is_file())


@pytest.mark.req("P11-06")
def test_info_json_issues_a_link_signed_for_this_session(
    link_app: Flask, scientist: Identity, image_id: str
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    info = client.get(f"/iiif/3/{image_id}/info.json").get_json(force=True)
    found = LINK.fullmatch(info["id"])
    assert found, info["id"]
    expires, signature, digest, named = found.groups()
    assert named == image_id
    expected = tilelinks.signature(SECRET, int(expires), digest, _cookie(client))
    assert signature == expected


def test_a_tile_through_the_link_is_the_same_image_and_is_stored_under_its_url(
    link_app: Flask, scientist: Identity, image_id: str, tmp_path: Path
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(client, image_id)
    linked = client.get(f"{base}/{TILE}")
    plain = client.get(f"/iiif/3/{image_id}/{TILE}")
    assert linked.status_code == plain.status_code == 200
    assert linked.data == plain.data
    assert linked.headers["ETag"] == plain.headers["ETag"]
    digest = LINK.fullmatch(f"http://localhost{base}").group(3)  # type: ignore[union-attr]
    named = tmp_path / "tiles" / "iiif" / digest / "p" / TILE
    assert named.read_bytes() == linked.data
    pixels = np.asarray(Image.open(io.BytesIO(linked.data)))
    assert pixels.shape == (256, 256)
    assert abs(pixels.astype(int) - IMAGE[:256, :256]).mean() < 4  # JPEG of the same pixels


def test_volume_planes_share_the_link_of_their_version(
    link_app: Flask, scientist: Identity, volume_id: str, tmp_path: Path
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(client, f"{volume_id}~z~3")
    other_plane = base.replace(f"{volume_id}~z~3", f"{volume_id}~y~7")
    response = client.get(f"{other_plane}/full/max/0/default.png")
    assert response.status_code == 200
    assert [p.parent.parent.parent.parent.name for p in _stored(tmp_path)] == ["py7"]


def test_windowed_tiles_through_a_link_are_not_stored_under_its_url(
    link_app: Flask, scientist: Identity, volume_id: str, tmp_path: Path
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(client, f"{volume_id}~z~3")
    assert client.get(f"{base}/full/max/0/default.png?min=0&max=255").status_code == 200
    assert not (tmp_path / "tiles" / "iiif").exists()


def _forged(base: str) -> list[str]:
    found = LINK.fullmatch(f"http://localhost{base}")
    assert found
    expires, signature, digest, image = found.groups()
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"/iiif/3/s/{expires}/{flipped}/{digest}/{image}",  # signature changed
        f"/iiif/3/s/{int(expires) + 3600}/{signature}/{digest}/{image}",  # expiry pushed out
        f"/iiif/3/s/{expires}/{signature}/{'0' * 64}/{image}",  # another array
        f"/iiif/3/s/{expires}/short/{digest}/{image}",  # malformed
    ]


@pytest.mark.req("P11-06")
def test_forged_links_are_refused_with_403_and_nothing_is_rendered(
    link_app: Flask, scientist: Identity, image_id: str, tmp_path: Path
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    for forged in _forged(_signed_base(client, image_id)):
        for suffix in (TILE, "info.json"):
            response = client.get(f"{forged}/{suffix}")
            assert response.status_code == 403, forged
            assert response.headers["Content-Type"].startswith("text/plain")
            assert "not valid" in response.get_data(as_text=True)
    assert _stored(tmp_path) == []


@pytest.mark.req("P11-06")
def test_an_expired_link_is_refused(
    link_app: Flask, scientist: Identity, image_id: str, tmp_path: Path
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    digest = LINK.fullmatch(f"http://localhost{_signed_base(client, image_id)}").group(3)  # type: ignore[union-attr]
    old = tilelinks.issue(SECRET, digest, _cookie(client), now=1_000_000_000, lifetime_s=60)
    response = client.get(f"/iiif/3/{old.path()}/{image_id}/{TILE}")
    assert response.status_code == 403
    assert "expired" in response.get_data(as_text=True)
    assert _stored(tmp_path) == []


@pytest.mark.req("P11-06", "P11-33")
def test_a_link_does_not_work_with_another_session_or_after_logout(
    link_app: Flask, scientist: Identity, image_id: str
) -> None:
    first = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(first, image_id)
    second = log_in(link_app.test_client(), scientist.username)
    response = second.get(f"{base}/{TILE}")
    assert response.status_code == 403
    assert "this session" in response.get_data(as_text=True)
    assert first.get(f"{base}/{TILE}").status_code == 200
    token = csrf_token(first, "/")
    assert first.post("/logout", data={"csrf_token": token}).status_code == 302
    # After logout the cookie names no session: the guard sends it to the login page.
    # (nginx alone cannot know; there the link's expiry is the bound, see deploy/nginx.)
    refused = first.get(f"{base}/{TILE}")
    assert refused.status_code == 302


def test_a_link_for_another_version_of_the_same_array_is_404(
    link_app: Flask, scientist: Identity, image_id: str, volume_id: str
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(client, image_id)
    response = client.get(f"{base.replace(image_id, f'{volume_id}~z~1')}/full/max/0/default.jpg")
    assert response.status_code == 404


@pytest.mark.req("P11-06", "P11-13")
def test_a_user_without_access_gets_no_link_and_a_valid_link_does_not_help(
    link_app: Flask,
    uow: UnitOfWork,
    admin_ctx: ServiceContext,
    scientist: Identity,
    image_id: str,
    tmp_path: Path,
) -> None:
    other = create_project(admin_ctx, name="Elsewhere")
    uow.commit()
    make_user(uow, "outsider", roles=set(), project_roles={other.id: {Role.MICROSCOPIST}})
    outsider = log_in(link_app.test_client(), "outsider")
    response = outsider.get(f"/iiif/3/{image_id}/info.json")
    assert response.status_code == 404
    assert b"/iiif/3/s/" not in response.data
    # Even a correctly signed link for the outsider's own session (as if the secret leaked)
    # is checked against the project on every request ctvault sees.
    insider = log_in(link_app.test_client(), scientist.username)
    digest = LINK.fullmatch(f"http://localhost{_signed_base(insider, image_id)}").group(3)  # type: ignore[union-attr]
    link = tilelinks.issue(SECRET, digest, _cookie(outsider), now=2_000_000_000, lifetime_s=60)
    assert outsider.get(f"/iiif/3/{link.path()}/{image_id}/{TILE}").status_code == 404
    assert _stored(tmp_path) == []


def test_anonymous_link_requests_go_to_the_login_page(
    link_app: Flask, scientist: Identity, image_id: str
) -> None:
    base = _signed_base(log_in(link_app.test_client(), scientist.username), image_id)
    response = link_app.test_client().get(f"{base}/{TILE}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_signed_base_redirects_to_a_fresh_info_json(
    link_app: Flask, scientist: Identity, image_id: str
) -> None:
    client = log_in(link_app.test_client(), scientist.username)
    base = _signed_base(client, image_id)
    assert client.get(base).headers["Location"].endswith(f"/iiif/3/{image_id}/info.json")
    again = client.get(f"{base}/info.json").get_json(force=True)
    assert LINK.fullmatch(again["id"])


def test_without_a_configured_secret_the_link_secret_derives_from_the_secret_key(
    app: Flask, scientist: Identity, image_id: str
) -> None:
    client = log_in(app.test_client(), scientist.username)
    found = LINK.fullmatch(client.get(f"/iiif/3/{image_id}/info.json").get_json(force=True)["id"])
    assert found
    expires, signature, digest, _ = found.groups()
    secret = tilelinks.derive_secret(str(app.secret_key))
    assert secret != app.secret_key
    assert signature == tilelinks.signature(secret, int(expires), digest, _cookie(client))
    assert (
        client.get(f"/iiif/3/s/{expires}/{signature}/{digest}/{image_id}/{TILE}").status_code == 200
    )
