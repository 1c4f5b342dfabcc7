"""Browser end to end: generate a sealed report from the version page, download, verify."""

from __future__ import annotations

import hashlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from lims.runtime.resources import Resources
from lims.services.ingest import IngestTarget, ingest_path
from processing import context as job_context
from processing.queues import DEFAULT, HEAVY
from tests.e2e.test_web_ui import CHROMIUM, CHROMIUM_ARGS
from tests.factories import DEFAULT_PASSWORD, make_sample, make_user, write_volume

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path("/tmp/ctvault-reports")  # noqa: S108 - copies for review


@pytest.fixture
def live_worker(live_resources: Resources) -> Iterator[SimpleWorker]:
    """An in-process RQ worker on the live (committed) resources."""
    job_context.set_resources(
        job_context.JobResources(
            settings=live_resources.settings,
            session_factory=live_resources.session_factory,
            redis=live_resources.redis,
            blobstore=live_resources.blobstore,
            clock=live_resources.clock,
            hostname=socket.gethostname(),
        )
    )
    queues = [
        Queue(name, connection=live_resources.redis, serializer=JSONSerializer)
        for name in (DEFAULT, HEAVY)
    ]
    yield SimpleWorker(queues, connection=live_resources.redis, serializer=JSONSerializer)
    job_context.clear_resources()


def _shot(page: Page, name: str, folder: Path) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(path, SCREENSHOTS / path.name)


def _verify_good_and_tampered(page: Page, live_server: str, pdf: Path, tmp_path: Path) -> None:
    page.goto(f"{live_server}/reports/verify")
    page.locator("#file").set_input_files(str(pdf))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verification")).to_contain_text("Verified.")
    _shot(page, "verify-ok", tmp_path)

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    page.locator("#file").set_input_files(str(tampered))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verification")).to_contain_text("Not verified.")
    expect(page.locator(".verification")).to_contain_text("not a copy of a report")
    _shot(page, "verify-tampered", tmp_path)


@pytest.mark.req("P11-03", "P11-19")
def test_generate_download_and_verify_a_report_in_the_browser(
    live_server: str, live_resources: Resources, live_worker: SimpleWorker, tmp_path: Path
) -> None:
    with live_resources.unit_of_work() as uow:
        identity = make_user(uow, "mcurie", display_name="Marie Curie")
        ctx = live_resources.service_context(uow, identity)
        make_sample(ctx, "Battery", "Cell 7")
        version = ingest_path(
            ctx,
            IngestTarget("Battery", "Cell 7", "scan-001"),
            write_volume(tmp_path / "scan" / "a.raw"),
            reason="acquired",
        )
        uow.commit()
    live_worker.work(burst=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(accept_downloads=True)
        page.goto(f"{live_server}/login")
        page.get_by_label("User name").fill("mcurie")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server}/versions/{version.id}")
        page.get_by_role("button", name="Generate sealed PDF report").click()
        expect(page.locator(".flash-success")).to_contain_text("Report requested")
        expect(page.locator(".report-panel")).to_contain_text("is being generated")

        live_worker.work(burst=True)
        page.reload()
        panel = page.locator(".report-panel")
        expect(panel.locator("tr.report")).to_have_count(1)
        expect(panel).to_contain_text("Dataset report")
        panel.scroll_into_view_if_needed()
        _shot(page, "version-page-with-report", tmp_path)

        with page.expect_download() as download_info:
            panel.get_by_role("link", name="Download PDF").click()
        pdf = tmp_path / "report.pdf"
        download_info.value.save_as(pdf)
        digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
        expect(panel.locator("code")).to_have_attribute("title", digest)

        _verify_good_and_tampered(page, live_server, pdf, tmp_path)
        page.goto(f"{live_server}/versions/{version.id}")
        page.locator(".report-panel").get_by_role("link", name="details").click()
        expect(page.locator("dl.facts")).to_contain_text(digest)
        expect(page.locator(".signature-panel")).to_be_visible()
        _shot(page, "report-page", tmp_path)
        browser.close()
