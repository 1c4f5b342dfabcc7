"""Browser end to end: an analysis is written, submitted and signed, reviewed, approved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services.catalogue import create_project, create_sample
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import DEFAULT_PASSWORD, make_user, write_volume

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SHOTS = Path("/tmp")  # noqa: S108 - copies of the screenshots for review


def _session(browser: Browser, base_url: str, username: str, problems: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in {"error", "warning"} else None,
    )
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".user-name")).to_be_visible()
    return page


def _sign(
    page: Page,
    button: str,
    username: str,
    shot: Path | None = None,
    *,
    first_of_session: bool = True,
) -> None:
    page.get_by_role("link", name=button).click()
    expect(page.locator(".sign-statement")).to_contain_text("legally binding")
    if first_of_session:
        expect(page.locator("fieldset.statement")).to_contain_text("accountable")
        page.get_by_label("I have read and acknowledge this statement").check()
        page.get_by_label("User id").fill(username)
    else:
        expect(page.get_by_label("User id")).to_have_count(0)
        expect(page.locator("fieldset.statement")).to_have_count(0)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    page.locator("form.sign-form button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("Signed as")


def _records(live_resources: Resources, tmp_path: Path) -> str:
    """An author, two reviewers, a project with one ingested version (its id)."""
    with live_resources.unit_of_work() as uow:
        author = make_user(uow, "mcurie", display_name="Marie Curie")
        make_user(uow, "rfeynman", display_name="Richard Feynman", roles={Role.REVIEWER})
        make_user(uow, "lmeitner", display_name="Lise Meitner", roles={Role.REVIEWER})
        admin = make_user(uow, "pi-admin", display_name="Project Admin", roles={Role.ADMIN})
        create_project(live_resources.service_context(uow, admin), name="Battery ageing")
        ctx = live_resources.service_context(uow, author)
        create_sample(ctx, project_name="Battery ageing", name="Cell 7")
        uow.commit()
        version = ingest_path(
            ctx,
            IngestTarget(project="Battery ageing", sample="Cell 7", dataset="microCT 1"),
            write_volume(tmp_path / "scan" / "proj.raw"),
            reason="acquired on Zeiss Versa 620",
        )
        return str(version.id)


def _write_analysis(page: Page, version_id: str) -> None:
    page.get_by_role("link", name="Analyses").click()
    page.get_by_role("link", name="New analysis").click()
    page.get_by_label("Project").select_option(label="Battery ageing")
    page.get_by_label("Title").fill("Porosity of cell 7 after 500 cycles")
    page.get_by_label("Purpose").fill("Quantify electrode porosity")
    page.get_by_label("Results").fill("Porosity 12.5 % (Otsu threshold)")
    page.get_by_label("Conclusions").fill("Within specification")
    page.get_by_label("Dataset versions it rests on (ids, one a line)").fill(version_id)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("h1")).to_contain_text("Porosity of cell 7")
    expect(page.locator("h1 .state")).to_have_text("draft")


def _withdraw_approval(qa: Page) -> None:
    """QA withdraws the approval (P11-22): one-way, with a reason; the analysis steps back."""
    qa.locator(".signature-panel a.withdraw").click()
    expect(qa.locator("h1")).to_have_text("Withdraw your signature")
    expect(qa.get_by_label("User id")).to_have_count(0)  # the signing epoch is open
    qa.get_by_label("Reason for the withdrawal").fill("cited the wrong electrode batch")
    qa.get_by_label("Password").fill(DEFAULT_PASSWORD)
    qa.get_by_role("button", name="Withdraw my signature").click()
    expect(qa.locator(".flash-success")).to_contain_text("Signature withdrawn")
    expect(qa.locator("h1 .state")).to_have_text("reviewed")
    withdrawn = qa.locator(".signature-panel tr.signature-withdrawn")
    expect(withdrawn).to_have_count(1)
    expect(withdrawn).to_contain_text("WITHDRAWN")
    expect(withdrawn).to_contain_text("cited the wrong electrode batch")
    expect(qa.locator(".signature-panel a.withdraw")).to_have_count(0)
    qa.screenshot(path=str(SHOTS / "ctvault-signature-withdrawn.png"), full_page=True)


@pytest.mark.req("P11-17", "P11-20", "P11-22", "P11-26", "P11-27", "A11-18")
def test_author_signs_reviewer_reviews_qa_approves_and_the_panel_shows_all_three(
    live_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    version_id = _records(live_resources, tmp_path)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _session(browser, live_server, "mcurie", problems)
        _write_analysis(page, version_id)
        analysis_url = page.url
        _sign(page, "Submit and sign", "mcurie", SHOTS / "ctvault-sign-dialog.png")
        page.goto(analysis_url)
        expect(page.locator("h1 .state")).to_have_text("submitted")

        reviewer = _session(browser, live_server, "rfeynman", problems)
        reviewer.goto(f"{live_server}/analyses/queue")
        reviewer.get_by_role("link", name="Porosity of cell 7 after 500 cycles").click()
        _sign(reviewer, "Sign as reviewed", "rfeynman")

        qa = _session(browser, live_server, "lmeitner", problems)
        qa.goto(f"{live_server}/analyses/queue")
        qa.get_by_role("link", name="Porosity of cell 7 after 500 cycles").click()
        _sign(qa, "Sign as approved", "lmeitner")

        qa.goto(analysis_url)
        expect(qa.locator("h1 .state")).to_have_text("approved")
        rows = qa.locator(".signature-panel").first.locator("tr.signature")
        expect(rows).to_have_count(3)
        expected = [
            ("authored", "Marie Curie (mcurie)"),
            ("reviewed", "Richard Feynman (rfeynman)"),
            ("approved", "Lise Meitner (lmeitner)"),
        ]
        for index, (meaning, name) in enumerate(expected):
            row = rows.nth(index)
            expect(row.locator(".meaning")).to_have_text(meaning)
            expect(row.locator(".printed-name")).to_have_text(name)
            expect(row.locator(".signed-at")).to_contain_text(" UTC")
            assert "+00:00" in (row.locator("time").get_attribute("datetime") or "")
            expect(row).to_contain_text("valid")
        shot = tmp_path / "analysis-signed.png"
        qa.screenshot(path=str(shot), full_page=True)
        shutil.copyfile(shot, SHOTS / "ctvault-analysis-signed.png")

        _withdraw_approval(qa)

        # The reviewer verifies the acquisition from the dataset version page.
        reviewer.goto(f"{live_server}/versions/{version_id}")
        _sign(reviewer, "Sign as verified", "rfeynman", first_of_session=False)
        reviewer.goto(f"{live_server}/versions/{version_id}")
        panel = reviewer.locator(".signature-panel tr.signature")
        expect(panel).to_have_count(1)
        expect(panel.locator(".printed-name")).to_have_text("Richard Feynman (rfeynman)")
        expect(panel.locator(".meaning")).to_have_text("verified")
        reviewer.screenshot(path=str(SHOTS / "ctvault-version-verified.png"), full_page=True)
        browser.close()
    assert problems == [], problems
