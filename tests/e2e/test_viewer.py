"""Browser end to end: open a volume in the orthoslice viewer, move a slice, zoom, read values."""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, Response, expect, sync_playwright
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from werkzeug.serving import make_server

from lims.runtime.resources import Resources
from lims.services.ingest import IngestTarget, ingest_path
from lims.web.app import create_app
from processing import context as job_context
from processing.queues import DEFAULT, HEAVY
from tests.factories import DEFAULT_PASSWORD, make_sample, make_user
from tests.integration.viewer.conftest import with_viewer_blueprints

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_COPY = Path("/tmp/ctvault-viewer.png")  # noqa: S108 - a copy for review
SHAPE = (96, 512, 480)  # z, y, x: two pyramid levels


def _phantom() -> np.ndarray:
    """Spheres of different densities in a cylinder, with noise (uint16)."""
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    volume = np.full(SHAPE, 1000.0, dtype=np.float32)
    volume[:, ((y[0] - 256) ** 2 + (x[0] - 240) ** 2) < 220**2] = 12000
    for cz, cy, cx, r, value in (
        (48, 200, 180, 40, 30000),
        (30, 320, 300, 60, 20000),
        (70, 260, 260, 25, 40000),
    ):
        volume[((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) < r**2] = value
    volume += np.random.default_rng(1).normal(0, 800, SHAPE).astype(np.float32)
    return np.clip(volume, 0, 65535).astype(np.uint16)


def _write_mhd(folder: Path, volume: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    (folder / "scan.raw").write_bytes(volume.astype("<u2").tobytes())
    depth, height, width = volume.shape
    (folder / "scan.mhd").write_text(
        "ObjectType = Image\nNDims = 3\n"
        f"DimSize = {width} {height} {depth}\n"
        "ElementType = MET_USHORT\nElementSpacing = 0.0045 0.0045 0.0045\n"
        "ElementByteOrderMSB = False\nElementDataFile = scan.raw\n"
    )
    return folder


@pytest.fixture(scope="module")
def viewer_server(live_resources: Resources) -> Iterator[str]:
    """The web app with the viewer blueprints, served by a threaded werkzeug server."""
    app = with_viewer_blueprints(create_app(live_resources.settings, resources=live_resources))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _prepared_volume(resources: Resources, folder: Path) -> uuid.UUID:
    with resources.unit_of_work() as uow:
        user = make_user(uow, "mcurie", display_name="Marie Curie")
        ctx = resources.service_context(uow, user)
        make_sample(ctx)
        version = ingest_path(
            ctx,
            IngestTarget("Battery", "Cell 7", "phantom"),
            _write_mhd(folder, _phantom()),
            reason="acquired",
        )
    job_context.set_resources(
        job_context.JobResources(
            settings=resources.settings,
            session_factory=resources.session_factory,
            redis=resources.redis,
            blobstore=resources.blobstore,
            clock=resources.clock,
            hostname=socket.gethostname(),
        )
    )
    try:
        queues = [
            Queue(name, connection=resources.redis, serializer=JSONSerializer)
            for name in (DEFAULT, HEAVY)
        ]
        SimpleWorker(queues, connection=resources.redis, serializer=JSONSerializer).work(burst=True)
    finally:
        job_context.clear_resources()
    return version.id


def _log_in(page: Page, base_url: str, target: str) -> None:
    page.goto(f"{base_url}{target}")
    page.get_by_label("User name").fill("mcurie")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#viewer")).to_have_attribute("data-kind", "volume")


def _wait_for(condition, page: Page, why, timeout_s: float = 15.0) -> None:
    """Wait (letting the page run) until ``condition()``; ``why()`` explains a timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {why()}"
        page.wait_for_timeout(100)


def _variance(png: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64).var())


def test_the_orthoslice_viewer_shows_slices_zooms_and_reads_values(  # noqa: PLR0915 - one story
    viewer_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    version = _prepared_volume(live_resources, tmp_path / "phantom")
    tiles: list[Response] = []
    problems: list[str] = []

    def on_response(response: Response) -> None:
        if "/iiif/3/" in response.url and "/value" not in response.url:
            tiles.append(response)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        page.on("response", on_response)
        page.on("console", on_console)

        def report() -> str:
            return f"{[(r.status, r.url[-60:]) for r in tiles[-8:]]} {problems}"

        _log_in(page, viewer_server, f"/versions/{version}/view")

        def images(axis: str, index: int | None = None) -> list[Response]:
            plane = f"{version}~{axis}~" + ("" if index is None else f"{index}/")
            return [r for r in tiles if plane in r.url and "info.json" not in r.url]

        _wait_for(lambda: all(images(axis) for axis in "zyx"), page, report)
        expect(page.locator("#slice-z-value")).to_have_text("48 / 95")

        # Move the XY slider with the keyboard: z 48 -> 53.
        page.locator("#slice-z").focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        expect(page.locator("#slice-z-value")).to_have_text("53 / 95")
        _wait_for(lambda: bool(images("z", 53)), page, report)

        # Zoom into the XY pane: the view and the scale bar change.
        pane = page.locator("#pane-z")
        scalebar = page.locator(".viewer-pane[data-axis='z'] .scalebar-label")
        expect(scalebar).to_contain_text("m")
        home_scale, home_png = scalebar.inner_text(), pane.screenshot()
        box = pane.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(4):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(150)
        page.wait_for_timeout(800)
        expect(scalebar).not_to_have_text(home_scale)
        assert pane.screenshot() != home_png

        # Click in XY: the XZ and YZ panes move to that point (linked crosshair).
        page.mouse.click(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2 + 20)
        expect(page.locator("#slice-y-value")).not_to_have_text("256 / 511")
        # The value under the cursor comes from level 0.
        page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + box["height"] / 2)
        expect(page.locator("#viewer-readout")).to_contain_text("value", timeout=5000)

        # Window/level: explicit numbers, then back to auto.
        page.locator("#window-min").fill("0")
        page.locator("#window-max").fill("45000")
        page.get_by_role("button", name="Apply").click()
        _wait_for(lambda: any("max=45000" in r.url for r in tiles), page, report)
        page.wait_for_timeout(1500)

        pane_png = pane.screenshot()
        page.screenshot(path=str(SCREENSHOT_COPY), full_page=True)
        browser.close()

    failed = [(r.status, r.url) for r in tiles if r.status not in (200, 304)]
    assert failed == []
    assert len(tiles) > 20
    assert _variance(pane_png) > 100, "the XY pane is blank"
    assert problems == [], problems
