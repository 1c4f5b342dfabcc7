"""Browser end to end: an administrator creates an account and makes it a project member;
the newcomer logs in with the one-time password and must choose their own first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services.catalogue import create_project
from tests.e2e.test_web_ui import CHROMIUM, CHROMIUM_ARGS
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

SCREENSHOT_COPY = Path("/tmp/ctvault-admin.png")  # noqa: S108 - a copy for review
NEW_PASSWORD = "my own long passphrase 7"


def _log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _create_account(page: Page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.locator("h1")).to_have_text("Users")
    form = page.locator("form.create-user")
    form.get_by_label("User name").fill("rfranklin")
    form.get_by_label("Printed name").fill("Rosalind Franklin")
    form.get_by_label("reviewer", exact=True).check()
    form.get_by_label("viewer", exact=True).uncheck()
    form.get_by_label("Reason").fill("joins QA (ticket HR-88)")
    form.get_by_role("button", name="Create account").click()
    expect(page.locator(".secret-once")).to_contain_text("Account rfranklin created")
    return page.locator("#one-time-password").inner_text()


def _grant_membership(page: Page) -> None:
    page.get_by_role("link", name="rfranklin").click()
    expect(page.locator("h1")).to_contain_text("Rosalind Franklin (rfranklin)")
    grant = page.locator("form.grant-form")
    grant.get_by_label("Role").select_option("microscopist")
    grant.get_by_label("Where").select_option(label="project Battery ageing")
    grant.get_by_label("Reason").fill("scans for the battery study")
    grant.get_by_role("button", name="Grant role").click()
    expect(page.locator(".flash-success")).to_contain_text("The role was granted.")
    expect(page.locator("table.roles")).to_contain_text("project Battery ageing")


def _newcomer_changes_password(browser: Browser, base_url: str, one_time: str) -> None:
    page = browser.new_context().new_page()
    _log_in(page, base_url, "rfranklin", one_time)
    expect(page.locator("h1")).to_have_text("Change password")
    page.goto(f"{base_url}/")
    expect(page.locator("h1")).to_have_text("Change password")
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("h1")).to_have_text("Projects")
    expect(page.get_by_role("link", name="Battery ageing")).to_be_visible()


@pytest.mark.req("P11-29", "A11-16")
def test_admin_creates_an_account_and_the_newcomer_sets_their_password(
    live_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    with live_resources.unit_of_work() as uow:
        admin = make_user(uow, "alovelace", display_name="Ada Lovelace", roles={Role.ADMIN})
        create_project(live_resources.service_context(uow, admin), name="Battery ageing")
        uow.commit()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on("console", on_console)
        _log_in(page, live_server, "alovelace", DEFAULT_PASSWORD)
        expect(page.locator(".user-name")).to_have_text("Ada Lovelace")

        one_time = _create_account(page)
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", one_time)
        _grant_membership(page)
        screenshot = tmp_path / "admin-user.png"
        page.screenshot(path=str(screenshot), full_page=True)
        shutil.copyfile(screenshot, SCREENSHOT_COPY)

        page.goto(f"{live_server}/admin/users")
        expect(page.locator("body")).not_to_contain_text(one_time)
        _newcomer_changes_password(browser, live_server, one_time)
        browser.close()

    assert problems == [], problems
