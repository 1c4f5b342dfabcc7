"""Result plots rendered on the server as PNG (matplotlib, Agg backend, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
from matplotlib.figure import Figure

DPI = 100


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> list[float]:
    return [
        float(r[column])
        for r in rows
        if isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
    ]


def table_png(port: str, table: dict[str, Any]) -> bytes:
    """A plot that fits the table.

    Particle size distribution, phase fractions, or the distribution of the first numeric
    column.
    """
    columns, rows, units = table["columns"], table["rows"], table.get("units", {})
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    fraction = next((c for c in columns if "fraction" in c), None)
    if "equivalent_diameter_um" in columns:
        values = _numeric(rows, "equivalent_diameter_um")
        axes.hist(values, bins=max(5, min(50, len(values))), color="#3465a4")
        axes.set_xlabel("equivalent diameter (µm)")
        axes.set_ylabel("particles")
        axes.set_title(f"Particle size distribution ({len(values)} particles)")
    elif fraction is not None:
        labels = [str(r.get(columns[0], i)) for i, r in enumerate(rows)]
        axes.bar(labels, _numeric(rows, fraction), color="#73a946")
        axes.set_xlabel(columns[0])
        axes.set_ylabel(fraction)
        axes.set_title("Phase fractions")
    else:
        column = next((c for c in columns if _numeric(rows, c)), columns[0])
        axes.hist(_numeric(rows, column), bins=20, color="#3465a4")
        unit = units.get(column, "")
        axes.set_xlabel(f"{column} ({unit})" if unit else column)
        axes.set_title(port)
    return _png(figure)


def histogram_png(
    counts: Sequence[int], low: float, high: float, thresholds: Sequence[float]
) -> bytes:
    """The input's grey-value histogram with the thresholds the run found."""
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    width = (high - low) / max(1, len(counts))
    axes.bar(
        [low + (i + 0.5) * width for i in range(len(counts))], counts, width=width, color="#888a85"
    )
    for value in thresholds:
        axes.axvline(value, color="#cc0000", linestyle="--", label=f"threshold {value:g}")
    axes.set_yscale("log")
    axes.set_xlabel("grey value")
    axes.set_ylabel("voxels")
    if thresholds:
        axes.legend()
    axes.set_title("Input histogram")
    return _png(figure)
