"""A browser at the API: JSON answers (never the login page or an HTML error), token or not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services import tokens
from lims.services.catalogue import create_project
from tests.e2e.test_web_ui import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_project_admin, make_user

pytestmark = pytest.mark.e2e
SCREENSHOT_COPY = Path("/tmp/ctvault-api-browser.png")  # noqa: S108 - a copy for review


@pytest.fixture(scope="module")
def browser_token(live_resources: Resources) -> str:
    with live_resources.unit_of_work() as uow:
        who = make_user(uow, "browser", roles={Role.VIEWER})
        ctx = live_resources.service_context(uow, who)
        create_project(as_project_admin(ctx), name="Battery")
        issued = tokens.create_token(ctx, name="browser check", scope="read", days=1)
        uow.commit()
        return issued.secret


@pytest.mark.req("P11-06")
def test_a_browser_gets_json_from_the_api(
    live_server: str, browser_token: str, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            anonymous = browser.new_page()
            response = anonymous.goto(f"{live_server}/api/v1/projects")
            assert response is not None
            assert response.status == 401
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["error"]["code"] == "unauthorized"
            assert anonymous.url.endswith("/api/v1/projects"), "no redirect to the login page"

            context = browser.new_context(
                extra_http_headers={"Authorization": f"Bearer {browser_token}"}
            )
            page = context.new_page()
            listed = page.goto(f"{live_server}/api/v1/projects")
            assert listed is not None
            assert listed.status == 200
            assert [p["name"] for p in listed.json()["items"]] == ["Battery"]
            missing = page.goto(f"{live_server}/api/v1/no-such-thing")
            assert missing is not None
            assert missing.status == 404
            assert missing.json()["error"]["code"] == "not_found"
            document = page.goto(f"{live_server}/api/v1/openapi.json")
            assert document is not None
            assert json.loads(document.text())["openapi"] == "3.1.0"
            page.goto(f"{live_server}/api/v1/projects")
            screenshot = tmp_path / "api.png"
            page.screenshot(path=str(screenshot), full_page=True)
            shutil.copyfile(screenshot, SCREENSHOT_COPY)
        finally:
            browser.close()
