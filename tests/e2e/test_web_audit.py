"""Browser end to end: an admin edits a project with a reason, reads its history, then finds
the event on the audit trail page, verifies the chain and exports the filtered trail."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import select

from audit.models import AuditEvent
from lims.auth.roles import Role
from lims.runtime.resources import Resources
from tests.e2e.test_web_ui import CHROMIUM, CHROMIUM_ARGS
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

SCREENSHOT_COPY = Path("/tmp/ctvault-audit-page.png")  # noqa: S108 - a copy for review
PROJECT_SCREENSHOT = Path("/tmp/ctvault-project-page.png")  # noqa: S108 - a copy for review


def _log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill("alovelace")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".user-name")).to_have_text("Ada Lovelace")


def _create_project(page: Page, name: str) -> None:
    form = page.locator("form.create-project")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Description", exact=True).fill("Li-ion cells after 500 cycles")
    form.get_by_role("button", name="Create project").click()
    expect(page.locator("h1")).to_contain_text(name)


def _edit_project(page: Page, new_name: str, reason: str) -> None:
    panel = page.locator("#edit")
    panel.locator("summary").click()
    panel.get_by_label("New name").fill(new_name)
    # The reason is required: the browser will not even send the form without it.
    panel.get_by_role("button", name="Save changes").click()
    expect(panel.get_by_label("Reason for the change")).to_have_js_property("validity.valid", False)
    panel.get_by_label("Reason for the change").fill(reason)
    panel.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash-success")).to_contain_text("was changed")
    expect(page.locator("h1")).to_contain_text(new_name)


def _check_history(page: Page) -> None:
    history = page.locator("#history")
    expect(history.locator("table")).to_be_hidden()
    history.locator("summary").click()
    row = history.locator("tr", has_text="project.update")
    expect(row).to_contain_text("name: Battery → Battery ageing")
    expect(row).to_contain_text("name agreed with the sponsor (CR-12)")
    expect(row).to_contain_text("Ada Lovelace (alovelace)")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    expect(row.locator("time")).to_have_attribute("title", re.compile("^local time: "))


def _capture_project_page(page: Page, screenshot: Path) -> None:
    # An administrator manages projects but adds no records: no note form for them.
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)
    page.locator("#history summary").click()
    page.locator("#retire summary").click()
    page.screenshot(path=str(screenshot), full_page=True)
    shutil.copyfile(screenshot, PROJECT_SCREENSHOT)


@pytest.mark.req("A11-11")
def test_admin_edits_a_project_and_reviews_the_audit_trail(
    live_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    with live_resources.unit_of_work() as uow:
        make_user(uow, "alovelace", display_name="Ada Lovelace", roles={Role.ADMIN})
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 1000}
        )
        page = context.new_page()
        page.on("console", on_console)
        _log_in(page, live_server)

        _create_project(page, "Battery")
        _edit_project(page, "Battery ageing", "name agreed with the sponsor (CR-12)")

        _check_history(page)
        _capture_project_page(page, tmp_path / "project-page.png")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
        expect(page.locator("h1")).to_have_text("Audit trail")
        rows = page.locator("table.audit-events tbody tr")
        expect(rows.first).to_contain_text("project.update")
        newest = rows.filter(has_text="project.update")
        expect(newest).to_contain_text("name: Battery → Battery ageing")
        expect(newest).to_contain_text("name agreed with the sponsor (CR-12)")

        page.get_by_label("Action starts with").fill("project.")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"action=project\."))
        expect(page.locator("table.audit-events tbody tr")).to_have_count(2)
        page.get_by_role("button", name="Verify chain").click()
        expect(page.locator(".verify-ok")).to_contain_text("Chain OK")
        expect(page.locator("table.audit-events tbody tr")).to_have_count(2)

        screenshot = tmp_path / "audit-page.png"
        page.screenshot(path=str(screenshot), full_page=True)
        shutil.copyfile(screenshot, SCREENSHOT_COPY)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export CSV").click()
        download = download_info.value
        assert re.fullmatch(r"ctvault-audit-trail-\d{8}T\d{6}Z\.csv", download.suggested_filename)
        target = tmp_path / "trail.csv"
        download.save_as(target)
        browser.close()

    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row[4] for row in rows[1:]] == ["project.create", "project.update"]
    assert "name agreed with the sponsor (CR-12)" in rows[2][8]
    with live_resources.unit_of_work() as uow:
        exports = uow.session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "audit.export")
        ).all()
    assert exports == ["csv"], "the export is on record (committed)"
    assert problems == [], problems
