"""The viewer behind real nginx with deploy/nginx/ctvault-tiles.conf: signed tile links."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Response, sync_playwright
from werkzeug.serving import make_server

from lims.api import tilelinks
from lims.runtime.resources import Resources
from lims.web.app import create_app
from tests.e2e.test_viewer import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _log_in,
    _prepared_volume,
    _variance,
    _wait_for,
)
from tests.integration.viewer.conftest import with_viewer_blueprints

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
SECRET = "e2e tile link secret"
LINK_SECONDS = 30  # links expire 30-60 s after issue; the viewer renews them meanwhile
SCREENSHOT_COPY = Path("/tmp/ctvault-viewer-nginx.png")  # noqa: S108 - a copy for review
NGINX_CONF = """
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        include {prefix}/ctvault-tiles.conf;
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


class CountingApp:
    """WSGI wrapper that counts the tile requests reaching ctvault."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app, self.tiles = app, 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/iiif/3/") and path.endswith((".jpg", ".png")):
            self.tiles += 1
        return self.app(environ, start_response)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def behind_nginx(
    live_resources: Resources, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, CountingApp]]:
    """nginx (the deploy config) in front of the app on a threaded werkzeug server."""
    tiles = tmp_path_factory.mktemp("tiles")
    settings = live_resources.settings.replace(
        tile_cache_dir=tiles,
        tile_link_secret=SECRET,
        tile_accel_prefix="/_tiles",
        tile_link_seconds=LINK_SECONDS,
    )
    resources = dataclasses.replace(live_resources, settings=settings)
    app = with_viewer_blueprints(create_app(settings, resources=resources))
    counting = CountingApp(app.wsgi_app)
    app.wsgi_app = counting  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    prefix, port = tmp_path_factory.mktemp("nginx"), _free_port()
    snippet = (ROOT / "deploy" / "nginx" / "ctvault-tiles.conf").read_text()
    for name, value in (
        ("__TILE_DIR__", str(tiles)),
        ("__LINK_SECRET__", SECRET),
        ("__UPSTREAM__", f"127.0.0.1:{server.server_port}"),
    ):
        snippet = snippet.replace(name, value)
    (prefix / "ctvault-tiles.conf").write_text(snippet)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, app_port=server.server_port))
    nginx = subprocess.Popen(
        ["/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert nginx.poll() is None, (prefix / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", counting
    nginx.send_signal(signal.SIGTERM)
    nginx.wait(timeout=15)
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def version(live_resources: Resources, tmp_path_factory: pytest.TempPathFactory) -> uuid.UUID:
    """A prepared volume (user mcurie), shared by the tests of this module."""
    return _prepared_volume(live_resources, tmp_path_factory.mktemp("phantom") / "phantom")


def _get(url: str, cookie: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": f"ctvault_session={cookie}"} if cookie else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.req("P11-06")
def test_tiles_come_from_nginx_through_signed_links_and_forged_ones_are_refused(
    behind_nginx: tuple[str, CountingApp], version: uuid.UUID
) -> None:
    base, app = behind_nginx
    tiles, on_response = _tile_recorder()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.on("response", on_response)
        _log_in(page, base, f"/versions/{version}/view")
        _wait_for(
            lambda: {a for a in "zyx" if any(f"~{a}~" in r.url for r in tiles)} == set("zyx"),
            page,
            lambda: [(r.status, r.url[-70:]) for r in tiles[-6:]],
        )
        page.wait_for_timeout(1500)
        pane_png = page.locator("#pane-z").screenshot()
        page.screenshot(path=str(SCREENSHOT_COPY), full_page=True)
        cookie = next(c["value"] for c in context.cookies() if c["name"] == "ctvault_session")
        browser.close()

    assert [(r.status, r.url) for r in tiles if r.status not in (200, 304)] == []
    assert all("/iiif/3/s/" in r.url for r in tiles), [r.url for r in tiles]
    assert _variance(pane_png) > 100, "the XY pane is blank"

    # A tile the viewer loaded is now a file: nginx sends it without asking ctvault.
    url = tiles[0].url
    before = app.tiles
    status, headers, body = _get(url, cookie)
    assert (status, body[:3]) == (200, b"\xff\xd8\xff")
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert app.tiles == before

    # Refused by nginx alone: no session, another session, forged, pushed-out and expired.
    path = url.split("/iiif/3/s/", 1)[1]
    expires, signature, digest, rest = path.split("/", 3)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    old = tilelinks.issue(SECRET, digest, cookie, now=time.time() - 3600, lifetime_s=60)
    for refused_url, with_cookie in (
        (url, None),
        (url, "another-session-id"),
        (url.replace(f"/{signature}/", f"/{flipped}/"), cookie),
        (url.replace(f"/s/{expires}/", f"/s/{int(expires) + 3600}/"), cookie),
        (f"{base}/iiif/3/{old.path()}/{rest}", cookie),
    ):
        assert _get(refused_url, with_cookie)[0] == 403, refused_url
    assert app.tiles == before

    # A windowed tile is not a file: nginx hands it to ctvault, which checks and renders it.
    status, _, body = _get(f"{url}?min=0&max=30000", cookie)
    assert (status, body[:3]) == (200, b"\xff\xd8\xff")
    assert app.tiles == before + 1


def _tile_recorder() -> tuple[list[Response], Callable[[Response], None]]:
    """A list of the JPEG tile responses a page receives, and the handler that fills it."""
    tiles: list[Response] = []

    def on_response(response: Response) -> None:
        if "/iiif/3/" in response.url and response.url.endswith(".jpg"):
            tiles.append(response)

    return tiles, on_response


def _expiry(url: str) -> int:
    return int(url.split("/iiif/3/s/", 1)[1].split("/", 1)[0])


def test_the_viewer_renews_its_links_before_they_expire(
    behind_nginx: tuple[str, CountingApp], version: uuid.UUID
) -> None:
    base, _ = behind_nginx
    tiles, on_response = _tile_recorder()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        page.on("response", on_response)
        _log_in(page, base, f"/versions/{version}/view")
        _wait_for(lambda: bool(tiles), page, lambda: "no tile loaded")
        first = _expiry(tiles[0].url)
        # Wait until the first link has expired, then show new slices.
        page.wait_for_timeout(max(0.0, first + 2 - time.time()) * 1000)
        loaded = len(tiles)
        page.locator("#slice-z").focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        _wait_for(
            lambda: any("~z~51/" in r.url for r in tiles[loaded:]),
            page,
            lambda: [(r.status, r.url[-60:]) for r in tiles[-4:]],
        )
        page.wait_for_timeout(1000)
        browser.close()

    later = tiles[loaded:]
    assert [(r.status, r.url) for r in later if r.status != 200] == []
    assert all(_expiry(r.url) > first for r in later if "/iiif/3/s/" in r.url)
    assert any("/iiif/3/s/" in r.url for r in later)
