"""Benchmark: render and seal a large analysis report (issue 9).

The case of the issue: about 40 pages with 20 images and a 2,000-row result table, plus the
workflow, environment, plots, signatures and an audit excerpt. Everything is synthetic and
built in memory (no database): what is timed is rendering (reportlab + matplotlib) and the
PAdES seal (pyHanko) with the embedded default certificate, i.e. the worker's own work.

    .venv/bin/python bench/reports.py [--rows 2000] [--images 20] [--repeat 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.query import EventView
from lims.settings import Settings
from reports.certificate import ensure_certificate
from reports.content import (
    AnalysisReport,
    Distribution,
    Fractions,
    Histogram,
    InputLine,
    OutputLine,
    Parameter,
    Picture,
    ReportMeta,
    RunSection,
    SignatureLine,
    StepLine,
    Table,
)
from reports.render import render
from reports.seal import load_signer, page_count, seal_pdf

NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)


def slice_png(rng: np.random.Generator, size: int = 512) -> bytes:
    """A CT-like slice: a cylinder of grains with noise (compresses like real data)."""
    y, x = np.mgrid[:size, :size]
    image = np.full((size, size), 40.0)
    inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (0.45 * size) ** 2
    image[inside] = 110
    for _ in range(60):
        cy, cx = rng.uniform(0.15, 0.85, 2) * size
        r = rng.uniform(6, 26)
        image[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = 200
    image += rng.normal(0, 12, image.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def particle_table(rng: np.random.Generator, rows: int) -> Table:
    columns = (
        "label",
        "voxels",
        "volume [µm³]",
        "diameter [µm]",
        "z [µm]",
        "y [µm]",
        "x [µm]",
        "sphericity",
    )
    body = []
    for label in range(1, rows + 1):
        voxels = int(rng.integers(20, 40000))
        volume = voxels * 1.5**3
        body.append(
            (
                str(label),
                str(voxels),
                f"{volume:.6g}",
                f"{(6 * volume / np.pi) ** (1 / 3):.4g}",
                *(f"{v:.2f}" for v in rng.uniform(0, 768, 3)),
                f"{rng.uniform(0.5, 1):.3f}",
            )
        )
    return Table(f"Result table particles ({rows} rows)", columns, tuple(body))


def build(rows: int, images: int) -> AnalysisReport:
    rng = np.random.default_rng(9)
    digest = lambda: uuid.uuid4().hex + uuid.uuid4().hex  # noqa: E731
    meta = ReportMeta(
        str(uuid.uuid4()),
        "analysis",
        "Analysis report: porosity of cell 7",
        "analysis",
        str(uuid.uuid4()),
        2,
        "approved",
        "Imaging Core Lab",
        NOW.isoformat(),
        "Marie Curie",
        version_count=2,
    )
    steps = (
        StepLine(1, "filter.gaussian", 2, digest(), (Parameter("sigma", "1.5", "voxel"),)),
        StepLine(2, "segment.otsu", 1, digest(), ()),
        StepLine(3, "segment.label", 1, digest(), (Parameter("connectivity", "1"),)),
        StepLine(4, "measure.particles", 1, digest(), (Parameter("min_voxels", "20", "voxel"),)),
    )
    sizes = tuple(float(v) for v in rng.lognormal(3, 0.5, rows))
    counts, edges = np.histogram(rng.normal(120, 40, 100_000), bins=256)
    run = RunSection(
        run_id=str(uuid.uuid4()),
        workflow="Porosity v3",
        status="succeeded",
        submitted_by="Marie Curie",
        started_at=NOW.isoformat(),
        finished_at=NOW.isoformat(),
        record_sha256=digest(),
        seed=1234567,
        inputs=(InputLine("image", "scan-001 v1", str(uuid.uuid4()), digest(), digest()),),
        steps=steps,
        environment=tuple(
            (f"packages.{n}", v)
            for n, v in (
                ("numpy", "2.1"),
                ("scipy", "1.14"),
                ("scikit-image", "0.24"),
                ("python", "3.11.7"),
                ("host", "worker-1"),
            )
        ),
        outputs=(OutputLine("labels", str(uuid.uuid4()), digest()),),
        tables=(particle_table(rng, rows),),
        plots=(
            Histogram(
                "Histogram of scan-001 v1 with thresholds",
                tuple(map(float, counts)),
                tuple(map(float, edges)),
                (131.0,),
                "grey value",
            ),
            Distribution("Particle size distribution", sizes, "µm"),
            Fractions("Phase fractions", (("pore", 0.125), ("solid", 0.875))),
        ),
        pictures=tuple(
            Picture(f"orthoslice {i + 1}", slice_png(rng), 1.5, "µm") for i in range(images)
        ),
        replay_status="replay of the run: identical",
    )
    audit = tuple(
        EventView(
            i,
            NOW,
            None,
            "Marie Curie",
            "analysis.edit",
            "analysis",
            meta.record_id,
            {"title": ["old", "new"]},
            "typo",
            {},
            digest(),
        )
        for i in range(1, 41)
    )
    signatures = (
        SignatureLine("Marie Curie", NOW.isoformat(), "authored"),
        SignatureLine("Richard Feynman", NOW.isoformat(), "reviewed"),
        SignatureLine("Lise Meitner", NOW.isoformat(), "approved"),
    )
    return AnalysisReport(
        meta,
        "Measure the porosity.",
        "Marie Curie",
        (run,),
        signatures,
        audit,
        "Within specification.",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    content = build(args.rows, args.images)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        now = dt.datetime.now(dt.UTC)
        signer = load_signer(ensure_certificate(settings, now), now)
        for attempt in range(1, args.repeat + 1):
            started = time.perf_counter()
            pdf = render(content)
            rendered = time.perf_counter()
            sealed = seal_pdf(pdf, signer, reason="benchmark", location="lab")
            done = time.perf_counter()
            print(
                f"run {attempt}: render {rendered - started:.2f} s, seal {done - rendered:.2f} s, "
                f"total {done - started:.2f} s, {page_count(sealed)} pages, "
                f"{len(sealed) / 1e6:.2f} MB"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    if args.out:
        args.out.write_bytes(sealed)


if __name__ == "__main__":
    main()
