"""Analysis reports: runs, inputs, workflow, environment, results, signatures, field for field."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from audit.chain import format_time
from lims.auth.roles import Role
from lims.errors import ConflictError
from lims.models import DatasetVersion, Project, Report, ReportRequest, RunResult, Signature
from lims.services import analyses, reports, runs, signing, workflows
from processing.runchecks import default_registry
from tests.conftest import as_user
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.reports.conftest import (
    embedded_fonts,
    events,
    pdf_pages,
    stored_pdf,
    validate_seal,
)

PARTICLES = [
    {"name": "segment.otsu", "version": 1, "parameters": {}},
    {"name": "segment.label", "version": 1, "parameters": {"connectivity": 1}},
    {"name": "measure.particles", "version": 1, "parameters": {"min_voxels": 1}},
]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def analysed(ctx, resources, worker, ingest):
    """A succeeded particle run on an ingested volume, in an analysis signed twice."""
    source = ingest()
    project = ctx.uow.session.scalars(select(Project).where(Project.name == "Battery")).one()
    project.is_gxp = False
    ctx.uow.commit()
    workflow = workflows.create_workflow(ctx, name="Particles", steps=PARTICLES)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    analysis = analyses.create_analysis(
        ctx,
        project_id=project.id,
        title="Particles of cell 7",
        purpose="Count the particles",
        results="One particle",
        conclusions="As expected",
        dataset_versions=[source.id],
        runs=[run.id],
    )
    ctx.uow.commit()
    revision = str(analyses.current_revision(ctx, analysis).id)
    signing.sign(ctx, "analysis", revision, "authored", DEFAULT_PASSWORD, "mcurie")
    reviewer = make_user(ctx.uow, "rfeynman", display_name="Richard Feynman", roles={Role.REVIEWER})
    signing.sign(
        as_user(resources, ctx.uow, reviewer), "analysis", revision, "reviewed", DEFAULT_PASSWORD
    )
    return analysis, run, source, revision


def _generate(ctx, worker, analysis_id) -> Report:
    request = reports.request_report(ctx, "analysis", str(analysis_id))
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    report = ctx.uow.session.get(Report, request.id)
    assert report is not None, ctx.uow.session.get(ReportRequest, request.id).message
    return report


@pytest.mark.req("P11-03", "P11-20", "P11-21", "A11-09", "AL-02")
def test_analysis_report_matches_the_database_field_for_field(ctx, worker, analysed):
    analysis, run, source, revision = analysed
    report = _generate(ctx, worker, analysis.id)
    data = stored_pdf(ctx, report)
    pages = pdf_pages(data)
    text = "\n".join(pages)
    flat = _flat(text)

    assert f"{analysis.id}@v1" in pages[0]
    assert "submitted" in pages[0] or "reviewed" in pages[0]
    assert "amended" not in text
    for number, page in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in page
        assert f"analysis {analysis.id}@v1" in page
        assert f"Report {report.id}" in page

    result = ctx.uow.session.get(RunResult, run.id)
    assert str(run.id) in text
    assert run.record_sha256 in flat
    assert "Particles v1" in text
    version = ctx.uow.session.get(DatasetVersion, source.id)
    assert version.manifest_sha256 in flat
    for item in run.inputs:
        assert item["array_digest"] in flat
    registry = default_registry()
    for step in run.steps:
        assert step["name"] in text
        assert step["code_digest"] in flat
        units = {
            f["name"]: f.get("unit") or ""
            for f in registry.get(step["name"], step["version"]).params.schema()
        }
        for name, value in step["configuration"].items():
            assert _flat(f"{name} = {value} {units[name]}") in flat
    for output in result.outputs:
        assert output["array_digest"] in flat
    numpy_version = result.environment["packages"]["numpy"]
    assert _flat(f"packages.numpy {numpy_version}") in flat
    label_ports = [o["port"] for o in result.outputs if o["kind"] == "label"]
    assert label_ports
    for port in label_ports:
        assert f"label output {port} over the input" in text
    for port, table in result.tables.items():
        assert table["sha256"] in flat
        assert f"{port} ({len(table['rows'])} rows" in text

    signatures = ctx.uow.session.scalars(
        select(Signature).where(Signature.record_id == revision).order_by(Signature.signed_at)
    ).all()
    assert [s.meaning for s in signatures] == ["authored", "reviewed"]
    for signature in signatures:
        assert signature.printed_name in text
        assert format_time(signature.signed_at) in flat
        row = _flat(
            f"{signature.printed_name}{format_time(signature.signed_at)}{signature.meaning}"
        )
        assert row in flat
    assert all(embedded_fonts(data).values())
    assert validate_seal(data, ctx.settings).bottom_line


@pytest.mark.req("A11-09", "AL-02")
def test_first_pages_render_and_are_not_blank(ctx, worker, analysed, tmp_path):
    analysis, *_ = analysed
    report = _generate(ctx, worker, analysis.id)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(stored_pdf(ctx, report))
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == min(3, report.page_count)
    for image in images:
        pixels = np.asarray(Image.open(image).convert("L"), dtype=np.float64)
        assert pixels.std() > 5, f"{image.name} is blank"
        assert (pixels < 128).mean() > 0.005, f"{image.name} has almost no ink"


@pytest.mark.req("P11-03")
def test_analysis_with_a_replay_still_running_is_refused(ctx, worker, analysed):
    analysis, run, *_ = analysed
    runs.replay(ctx, run.id, reason="check the outputs")
    ctx.uow.commit()
    with pytest.raises(ConflictError, match="still running"):
        reports.request_report(ctx, "analysis", str(analysis.id))
    assert ctx.uow.session.scalars(select(ReportRequest)).all() == []
    assert events(ctx, "report.request_denied")
