"""Browser end to end: search from the header box, filter by a facet, open a result."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services import catalogue, changes, tags
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SHOTS = Path("/tmp")  # noqa: S108 - screenshots kept for review


def _fill(resources: Resources, tmp_path: Path) -> None:
    with resources.unit_of_work() as uow:
        scientist = make_user(uow, "mcurie", display_name="Marie Curie")
        admin = make_user(uow, "pi-admin", display_name="Project Admin", roles={Role.ADMIN})
        boss = resources.service_context(uow, admin)
        catalogue.create_project(boss, name="Bone study", description="Femur and tibia scans")
        ctx = resources.service_context(uow, scientist)
        for sample in ("FEM-012", "FEM-013", "TIB-007"):
            catalogue.create_sample(ctx, project_name="Bone study", name=sample)
        uow.commit()
        rows = [
            ("FEM-012", "femur raw scan", "CT volume", "Zeiss Versa 620", "2025-03-02"),
            ("FEM-013", "femur follow-up", "CT volume", "Bruker SkyScan 1272", "2025-06-11"),
            ("TIB-007", "tibia overview", "2D mosaic", "Zeiss Versa 620", "2025-05-20"),
        ]
        for sample, name, modality, instrument, day in rows:
            folder = tmp_path / name.replace(" ", "_")
            (folder / "recon").mkdir(parents=True)
            (folder / "recon" / "slice_0001.tif").write_bytes(name.encode() * 100)
            (folder / "scan.log").write_text(f"{instrument}\n")
            ingest_path(
                ctx,
                IngestTarget("Bone study", sample, name),
                folder,
                reason="acquired",
                metadata={"modality": modality, "instrument": instrument, "acquired_at": day},
            )
        first = catalogue.find_sample(ctx, "Bone study", "FEM-012")
        dataset = catalogue.list_datasets(ctx, first.id)[0].dataset
        changes.add_note(ctx, "dataset", dataset.id, "Crack visible near the condyle.")
        tags.add_tag(ctx, dataset.id, "reference")
        changes.amend_metadata(
            ctx,
            dataset.id,
            {"modality": "CT volume", "instrument": "Zeiss Versa 620", "voltage_kv": 80},
            reason="voltage added from the scan log",
        )
        uow.commit()


def _log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill("mcurie")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".user-name")).to_have_text("Marie Curie")


@pytest.mark.req("P11-06")
def test_search_from_the_header_filter_and_open_a_result(
    live_server: str, live_resources: Resources, tmp_path: Path
) -> None:
    _fill(live_resources, tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        _log_in(page, live_server)

        box = page.get_by_role("searchbox", name="Search everything")
        box.fill("femur")
        box.press("Enter")
        expect(page).to_have_url(f"{live_server}/search?q=femur")
        hits = page.locator(".hit")
        expect(hits.filter(has_text="femur raw scan")).to_have_count(1)
        expect(hits.filter(has_text="femur follow-up")).to_have_count(1)
        expect(page.locator(".snippet mark").first).to_have_text("femur", ignore_case=True)
        page.screenshot(path=str(SHOTS / "ctvault-search.png"), full_page=True)

        page.locator('.facet[data-facet="instrument"] a', has_text="Bruker").click()
        expect(page.locator(".hit")).to_have_count(1)
        expect(page.locator(".hit")).to_contain_text("femur follow-up")
        expect(page.locator(".facet a.on")).to_contain_text("Bruker SkyScan 1272")

        page.get_by_role("searchbox", name="Search everything").fill("condyle")
        page.get_by_role("searchbox", name="Search everything").press("Enter")
        page.locator(".hit a", has_text="femur raw scan").click()
        expect(page.locator("h1")).to_contain_text("femur raw scan")
        expect(page.locator("#tags")).to_contain_text("reference")
        expect(page.locator("#lineage")).to_be_visible()
        page.screenshot(path=str(SHOTS / "ctvault-dataset-search.png"), full_page=True)

        page.get_by_role("button", name="Compare").click()
        expect(page.locator("h1")).to_contain_text("v1 → v2")
        expect(page.locator("tr.diff-added")).to_contain_text("voltage_kv")
        page.screenshot(path=str(SHOTS / "ctvault-compare.png"), full_page=True)

        page.get_by_role("link", name="Catalogue").click()
        expect(page.locator(".card")).to_have_count(3)
        page.screenshot(path=str(SHOTS / "ctvault-catalogue-grid.png"), full_page=True)
        page.get_by_role("link", name="Table").click()
        expect(page.locator(".catalogue-table tbody tr")).to_have_count(3)
        page.screenshot(path=str(SHOTS / "ctvault-catalogue-table.png"), full_page=True)
        browser.close()
    assert errors == []
