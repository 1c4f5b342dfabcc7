"""Read an analysis, its runs, their inputs, workflow, environment and results into values."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.chain import format_time
from audit.query import history
from lims.errors import NotFoundError
from lims.models import Analysis, DatasetVersion, Run, RunResult, VersionDerivative
from lims.storage.arrays import CanonicalArray
from lims.storage.blobstore import BlobStore
from processing.runchecks import default_registry
from reports.content import (
    AnalysisReport,
    Distribution,
    Fractions,
    Histogram,
    InputLine,
    OutputLine,
    Parameter,
    Picture,
    Plot,
    RunSection,
    StepLine,
    Table,
)
from reports.loading import Stamp
from reports.overlays import overlay_png
from reports.signers import signature_lines

PREVIEWS = (("preview_z", "XY"), ("preview_y", "XZ"), ("preview_x", "YZ"))
SIZE_COLUMNS = ("equivalent_diameter", "diameter", "volume", "area")


def _derivatives(session: Session, version_id: str) -> dict[str, VersionDerivative]:
    rows = session.scalars(
        select(VersionDerivative).where(VersionDerivative.version_id == uuid.UUID(version_id))
    )
    return {row.kind: row for row in rows}


def _pictures(store: BlobStore, derived: dict[str, VersionDerivative], label: str) -> list[Picture]:
    canonical = derived.get("canonical")
    attributes = canonical.attributes if canonical is not None else {}
    voxel, shape = attributes.get("voxel_size"), attributes.get("shape")
    pictures = []
    for kind, plane in PREVIEWS:
        preview = derived.get(kind) or (derived.get("thumbnail") if kind == "preview_z" else None)
        if preview is None:
            continue
        with store.open(preview.blob_sha256) as handle:
            png = handle.read()
        pixel_size = None
        if voxel and shape:
            with Image.open(io.BytesIO(png)) as image:
                width = image.width
            across = {"XY": -1, "XZ": -1, "YZ": -2}[plane]
            pixel_size = float(voxel[across]) * int(shape[across]) / width
        unit = str(attributes.get("unit") or "")
        pictures.append(Picture(f"{label}, {plane} orthoslice", png, pixel_size, unit))
    return pictures


def _overlay(
    session: Session, store: BlobStore, input_id: str, output: dict[str, Any]
) -> list[Picture]:
    image = _derivatives(session, input_id).get("canonical")
    labels = _derivatives(session, output["version_id"]).get("canonical")
    if image is None or labels is None:
        return []
    png = overlay_png(store.path(image.blob_sha256), store.path(labels.blob_sha256))
    if png is None:
        return []
    attributes = image.attributes
    voxel, shape = attributes.get("voxel_size"), attributes.get("shape")
    pixel_size = None
    if voxel and shape:
        with Image.open(io.BytesIO(png)) as picture:
            pixel_size = float(voxel[-1]) * int(shape[-1]) / picture.width
    caption = f"label output {output['port']} over the input, XY orthoslice"
    return [Picture(caption, png, pixel_size, str(attributes.get("unit") or ""))]


def _histogram(
    store: BlobStore, derived: dict[str, VersionDerivative], label: str, thresholds: list[float]
) -> Histogram | None:
    canonical = derived.get("canonical")
    if canonical is None:
        return None
    with CanonicalArray(store.path(canonical.blob_sha256)) as array:
        stats = array.stats
    if stats.minimum is None or stats.maximum is None:
        return None
    edges = np.linspace(float(stats.minimum), float(stats.maximum), len(stats.histogram) + 1)
    return Histogram(
        f"Histogram of {label} with thresholds",
        tuple(float(c) for c in stats.histogram),
        tuple(float(e) for e in edges),
        tuple(thresholds),
        x_label="grey value",
    )


def _plots(result: RunResult) -> list[Plot]:
    plots: list[Plot] = []
    for port, table in sorted(result.tables.items()):
        column = next((c for c in SIZE_COLUMNS if c in table["columns"]), None)
        if column is not None and table["rows"]:
            values = tuple(
                float(row[column]) for row in table["rows"] if row.get(column) is not None
            )
            unit = table["units"].get(column, "")
            plots.append(
                Distribution(f"Particle size distribution ({port}: {column})", values, unit)
            )
    fractions = [
        (s["name"], float(s["value"]))
        for s in result.scalars
        if "fraction" in s["name"] or s["name"] == "porosity"
    ]
    if fractions:
        parts = list(fractions)
        if len(parts) == 1:
            parts.append((f"not {parts[0][0]}", 1.0 - parts[0][1]))
        plots.append(Fractions("Phase fractions", tuple(parts)))
    return plots


def _table(port: str, table: dict[str, Any]) -> Table:
    columns = table["columns"]
    units = table["units"]
    headers = tuple(f"{c} [{units[c]}]" if units.get(c) else c for c in columns)
    rows = tuple(tuple(_cell(row.get(c)) for c in columns) for row in table["rows"])
    return Table(
        f"Result table {port} ({len(rows)} rows, SHA-256 {table['sha256']})", headers, rows
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _steps(run: Run) -> list[StepLine]:
    registry = default_registry()
    lines = []
    for index, step in enumerate(run.steps, start=1):
        units = {}
        try:
            spec = registry.get(step["name"], int(step["version"]))
            units = {f["name"]: f.get("unit") or "" for f in spec.params.schema()}
        except (KeyError, ValueError):
            units = {}
        parameters = tuple(
            Parameter(name, str(value), units.get(name, ""))
            for name, value in sorted(step.get("configuration", {}).items())
        )
        lines.append(
            StepLine(index, step["name"], int(step["version"]), step["code_digest"], parameters)
        )
    return lines


def _thresholds(result: RunResult) -> list[float]:
    return [
        float(s["value"])
        for s in result.scalars
        if "threshold" in s["name"] and isinstance(s["value"], int | float)
    ]


def _run_section(session: Session, store: BlobStore, run: Run) -> RunSection:
    result = session.get(RunResult, run.id)
    inputs = []
    pictures: list[Picture] = []
    plots: list[Plot] = []
    for item in run.inputs:
        version = session.get(DatasetVersion, uuid.UUID(item["version_id"]))
        label = f"{version.dataset.name} v{version.number}" if version else item["version_id"]
        inputs.append(
            InputLine(
                item["port"],
                label,
                item["version_id"],
                version.manifest_sha256 if version else "",
                item["array_digest"],
            )
        )
        derived = _derivatives(session, item["version_id"])
        pictures += _pictures(store, derived, f"input {label}")
        if result is not None:
            histogram = _histogram(store, derived, label, _thresholds(result))
            if histogram is not None:
                plots.append(histogram)
    outputs: list[OutputLine] = []
    tables: list[Table] = []
    if result is not None:
        for output in result.outputs:
            outputs.append(OutputLine(output["port"], output["version_id"], output["array_digest"]))
            if output.get("kind") == "label" and len(run.inputs) == 1:
                pictures += _overlay(session, store, run.inputs[0]["version_id"], output)
            pictures += _pictures(
                store, _derivatives(session, output["version_id"]), f"output {output['port']}"
            )
        plots += _plots(result)
        tables = [_table(port, table) for port, table in sorted(result.tables.items())]
        scalars = tuple(
            (f"{s['step']}: {s['name']}", f"{s['value']} {s['unit']}".strip())
            for s in result.scalars
        )
        if scalars:
            tables.insert(0, Table("Measured values", ("Measurement", "Value"), scalars))
    replay = result.replay if result is not None else None
    return RunSection(
        run_id=str(run.id),
        workflow=f"{run.workflow.name} v{run.workflow.version}",
        status=result.status if result is not None else run.state.status,
        submitted_by=run.submitted_by.display_name,
        started_at=format_time(result.started_at)
        if result is not None and result.started_at
        else "",
        finished_at=format_time(result.finished_at) if result is not None else "",
        record_sha256=run.record_sha256,
        seed=run.seed,
        inputs=tuple(inputs),
        steps=tuple(_steps(run)),
        environment=tuple(_environment(result.environment if result is not None else {})),
        outputs=tuple(outputs),
        tables=tuple(tables),
        plots=tuple(plots),
        pictures=tuple(pictures),
        replay_status=f"replay of {run.replay_of_id}: {replay.get('verdict', '')}"
        if replay
        else "",
    )


def _environment(environment: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, value in sorted(environment.items()):
        if isinstance(value, dict):
            yield from _environment(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


def load_analysis(
    session: Session, store: BlobStore, stamp: Stamp, analysis_id: uuid.UUID
) -> AnalysisReport:
    """An analysis (its current revision) with its runs, signatures and audit excerpt.

    Raises:
        NotFoundError: no such analysis.
    """
    analysis = session.get(Analysis, analysis_id)
    if analysis is None:
        raise NotFoundError("no such analysis")
    revision = analysis.revisions[-1]
    meta = stamp.meta(
        kind="analysis",
        title=f"Analysis report: {revision.title}",
        record_type="analysis",
        record_id=str(analysis.id),
        record_version=revision.revision,
        status=analysis.status,
        version_count=len(analysis.revisions),
    )
    runs = [session.get(Run, uuid.UUID(run_id)) for run_id in revision.runs]
    description = "\n\n".join(t for t in (revision.purpose, revision.results) if t)
    return AnalysisReport(
        meta=meta,
        description=description,
        author=revision.author.display_name,
        runs=tuple(_run_section(session, store, run) for run in runs if run is not None),
        signatures=signature_lines(session, "analysis", str(revision.id)),
        audit=tuple(history(session, "analysis", str(analysis.id))),
        conclusions=revision.conclusions,
    )
