"""Browser end to end: log in, create project and sample, upload, verify, download."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services.catalogue import create_project
from tests.factories import DEFAULT_PASSWORD, make_user

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
SCREENSHOT_COPY = Path("/tmp/ctvault-dataset-page.png")  # noqa: S108 - a copy for review


def _create(page: Page, button: str, name: str, description: str) -> None:
    form = page.locator("form").filter(has=page.get_by_role("button", name=button))
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Description", exact=True).fill(description)
    form.get_by_role("button", name=button).click()


def _log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login?next=/?")
    page.get_by_label("User name").fill("mcurie")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".user-name")).to_have_text("Marie Curie")


def _download_first_file(page: Page, target: Path) -> str:
    with page.expect_download() as download_info:
        page.locator("a.download").first.click()
    download_info.value.save_as(target)
    return download_info.value.suggested_filename


def _upload_folder_as_version_2(page: Page, folder: Path) -> None:
    (folder / "slices").mkdir(parents=True)
    (folder / "slices" / "z0000.raw").write_bytes(b"slice 0" * 1000)
    (folder / "recon.log").write_text("voxel 4.2 um\n")
    page.locator("#upload-form").get_by_label("Reason").fill("reconstruction added")
    page.locator("#upload-folder").set_input_files(str(folder))
    expect(page.locator("#upload-selection")).to_contain_text("2 files")
    page.get_by_role("button", name="Upload and commit version").click()
    expect(page.locator(".flash-success")).to_contain_text("Version 2")
    expect(page.locator("#v2 .version-files")).to_contain_text("slices/z0000.raw")


def test_upload_and_download_through_the_browser(
    live_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    with live_resources.unit_of_work() as uow:
        make_user(uow, "mcurie", display_name="Marie Curie")
        admin = make_user(uow, "pi-admin", display_name="Project Admin", roles={Role.ADMIN})
        create_project(
            live_resources.service_context(uow, admin),
            name="Battery ageing",
            description="Li-ion cells after 500 cycles",
        )
        uow.commit()
    payload = bytes(range(256)) * 4096 + b"end of projection\n"
    source = tmp_path / "projection_0001.raw"
    source.write_bytes(payload)
    sha256 = hashlib.sha256(payload).hexdigest()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.on("console", on_console)
        _log_in(page, live_server)

        # Projects are an administrator's; the microscopist adds samples and data.
        expect(page.locator("form.create-project")).to_have_count(0)
        page.get_by_role("link", name="Battery ageing").click()
        _create(page, "Create sample", "Cell 7", "18650 cell, cycled at 45 °C")
        expect(page.locator("h1")).to_contain_text("Cell 7")

        upload_form = page.locator("#upload-form")
        upload_form.get_by_label("Dataset").fill("microCT 2024-06-01")
        upload_form.get_by_label("Reason").fill("acquired on Zeiss Versa 620, 80 kV")
        page.locator("#upload-files").set_input_files(str(source))
        expect(page.locator("#upload-selection")).to_contain_text("1 file")
        page.get_by_role("button", name="Upload and commit version").click()

        expect(page.locator("h1")).to_contain_text("microCT 2024-06-01")
        expect(page.locator(".flash-success")).to_contain_text("Version 1")
        expect(page.locator(f'#v1 code[title="{sha256}"]')).to_have_text(sha256[:12] + "…")
        expect(page.locator("table.versions")).to_contain_text("UTC")
        downloaded = tmp_path / "downloaded.raw"
        assert _download_first_file(page, downloaded) == "projection_0001.raw"
        assert downloaded.read_bytes() == payload

        # A folder becomes version 2; version 1's file list is then fetched by htmx.
        _upload_folder_as_version_2(page, tmp_path / "recon")
        page.locator("#v1 > summary").click()
        expect(page.locator(f'#v1 code[title="{sha256}"]')).to_be_visible()

        screenshot = tmp_path / "dataset-page.png"
        page.screenshot(path=str(screenshot), full_page=True)
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
        browser.close()

    assert problems == [], problems
