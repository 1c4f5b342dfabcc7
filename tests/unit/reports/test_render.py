"""Rendering from plain values: page frame, fonts, tables, amendment marker, logo, figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import uuid

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from audit.query import EventView
from reports.audit_trail import AuditReportHeader, build_audit_pdf
from reports.content import (
    AnalysisReport,
    AuditTrailReport,
    DatasetReport,
    Distribution,
    FileLine,
    Fractions,
    Histogram,
    LineageLine,
    Picture,
    ReportMeta,
    RunSection,
    SignatureLine,
    Table,
)
from reports.render import render
from reports.render.figures import nice_length
from tests.integration.reports.conftest import embedded_fonts

NOW = dt.datetime(2026, 11, 28, 1, 2, 3, tzinfo=dt.UTC)


def png(size: int = 64) -> bytes:
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def meta(kind: str = "dataset", *, versions: int = 1, logo: bytes | None = None) -> ReportMeta:
    return ReportMeta(
        report_id=str(uuid.UUID(int=7)),
        kind=kind,
        title=f"{kind} report",
        record_type="dataset version",
        record_id=str(uuid.UUID(int=5)),
        record_version=versions,
        status="committed",
        lab_name="Imaging Core Lab — Basel",
        generated_at=NOW.isoformat(),
        generated_by="Marie Curie",
        version_count=versions,
        logo_png=logo,
    )


def event(seq: int) -> EventView:
    return EventView(
        seq,
        NOW,
        None,
        "Marie Curie",
        "version.create",
        "dataset_version",
        "x",
        {"metadata": {"voxel_size_um": [None, 1.5]}},
        "calibrated",
        {},
        "ab" * 32,
    )


def dataset(versions: int = 1, files: int = 3, logo: bytes | None = None) -> DatasetReport:
    return DatasetReport(
        meta=meta(versions=versions, logo=logo),
        project="Battery",
        sample="Cell 7",
        dataset="scan",
        author="Marie Curie",
        created_at=NOW.isoformat(),
        reason="acquired",
        manifest_sha256="a" * 64,
        total_bytes=3000,
        array_digest="b" * 64,
        metadata=(("voxel_size_um", "1.5"),),
        files=tuple(FileLine(f"slice_{i:04d}.tif", 1000, f"{i:064x}") for i in range(files)),
        lineage=(
            LineageLine(1, str(uuid.UUID(int=5)), "Marie Curie", NOW.isoformat(), "acquired"),
        ),
        signatures=(SignatureLine("Marie Curie", "2026-11-28T01:02:03.000000+00:00", "verified"),),
        audit=(event(1),),
        preview=Picture("slice", png(), 1.5, "µm"),
    )


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.req("A11-09", "AL-02")
def test_every_page_carries_page_x_of_y_report_id_and_record_at_version():
    text = pages(render(dataset(files=400)))
    assert len(text) > 3
    for number, page in enumerate(text, start=1):
        assert f"page {number} of {len(text)}" in page
        assert f"Report {uuid.UUID(int=7)}" in page
        assert f"{uuid.UUID(int=5)}@v1" in page
        assert "Imaging Core Lab — Basel" in page


@pytest.mark.req("A11-09")
def test_long_tables_split_with_the_header_repeated():
    text = pages(render(dataset(files=400)))
    table_pages = [p for p in text if "slice_0" in p]
    assert len(table_pages) >= 3
    assert all("Size (bytes)" in p for p in table_pages)
    listed = [int(m) for p in text for m in re.findall(r"slice_(\d{4})\.tif", p)]
    assert listed == list(range(400))


@pytest.mark.req("A11-09")
@pytest.mark.parametrize(("versions", "marked"), [(1, False), (3, True)])
def test_amended_marker_only_for_records_changed_after_entry(versions, marked):
    text = pages(render(dataset(versions=versions)))
    assert all(("amended (3 versions)" in p) is marked for p in text)
    assert all(("amended" in p) is marked for p in text)


@pytest.mark.req("A11-09", "AL-02")
def test_all_fonts_are_embedded_in_every_kind():
    audit = AuditTrailReport(meta("audit_trail"), "all events", "OK", (event(1), event(2)))
    run = RunSection(
        run_id="r",
        workflow="w v1",
        status="succeeded",
        submitted_by="Marie Curie",
        started_at="",
        finished_at="",
        record_sha256="c" * 64,
        seed=1,
        inputs=(),
        steps=(),
        environment=(),
        outputs=(),
        tables=(Table("t", ("a", "b"), (("1", "2"),)),),
        plots=(
            Histogram("h", (1.0, 3.0, 2.0), (0.0, 1.0, 2.0, 3.0), (1.5,)),
            Distribution("d", (1.0, 2.0, 2.5, 3.0, 7.0), "µm"),
            Fractions("f", (("pore", 0.2), ("solid", 0.8))),
        ),
        pictures=(Picture("one", png(), 1.0, "µm"), Picture("two", png(), None)),
    )
    analysis = AnalysisReport(meta("analysis"), "why", "Marie Curie", (run,), (), (event(1),))
    for report in (dataset(), audit, analysis):
        fonts = embedded_fonts(render(report))
        assert fonts
        assert all(fonts.values()), fonts


def test_logo_is_drawn_in_the_header():
    plain = render(dataset())
    with_logo = render(dataset(logo=png()))
    reader = PdfReader(io.BytesIO(with_logo))
    images = [name for page in reader.pages for name in page.images]
    assert len(images) >= len(reader.pages)  # the logo on every page (plus the preview)
    assert len(with_logo) > len(plain)


@pytest.mark.req("P11-20")
def test_signature_block_shows_name_time_with_zone_and_meaning():
    text = " ".join(pages(render(dataset())))
    assert re.search(r"Marie Curie\s+2026-11-28T01:02:03\.000000\+00:00\s+verified", text)


def test_direct_audit_export_uses_the_same_frame():
    header = AuditReportHeader("Lab", "Auditor", NOW.isoformat(), "all events", "OK, 2 events")
    text = pages(build_audit_pdf(header, [event(1), event(2)]))
    assert "page 1 of 1" in text[0]
    assert "Chain verification" in text[0]
    assert "voxel_size_um" in text[0]


@pytest.mark.parametrize(
    ("approx", "expected"), [(1.0, 1.0), (3.7, 2.0), (7.0, 5.0), (0.034, 0.02), (480.0, 200.0)]
)
def test_scale_bar_lengths_are_round(approx, expected):
    assert nice_length(approx) == pytest.approx(expected)


def test_scale_bar_needs_a_positive_length():
    with pytest.raises(ValueError, match="positive"):
        nice_length(0)


@pytest.mark.req("P11-21")
def test_every_report_of_a_signable_record_has_the_manifestation_block():
    """Template lint: the renderers of signable records all call the signature block."""
    import inspect

    from reports.render import analysis as analysis_module
    from reports.render import dataset as dataset_module

    for module in (analysis_module, dataset_module):
        assert "signature_block(" in inspect.getsource(module), module.__name__
    unsigned = dataclasses.replace(dataset(), signatures=())
    assert "This record carries no signatures." in " ".join(pages(render(unsigned)))
    analysis = AnalysisReport(meta("analysis"), "", "Marie Curie", (), (), ())
    text = " ".join(pages(render(analysis)))
    assert "Signatures" in text
    assert "This record carries no signatures." in text
