"""Plots (matplotlib, Agg) and preview images with scale bars, as page flowables."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, Image, KeepTogether, LongTable, Spacer, TableStyle

from reports.content import Distribution, Histogram, Picture, Plot
from reports.render.blocks import para
from reports.render.fonts import SANS, SANS_BOLD

PLOT_DPI = 110
PLOT_SIZE_IN = (6.4, 2.8)


def _figure() -> Figure:
    figure = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI, layout="constrained")
    figure.set_facecolor("white")
    return figure


def _draw(plot: Plot, figure: Figure) -> None:
    axes = figure.add_subplot()
    axes.set_title(plot.title, fontsize=9)
    axes.tick_params(labelsize=7)
    if isinstance(plot, Histogram):
        widths = [b - a for a, b in zip(plot.edges[:-1], plot.edges[1:], strict=True)]
        axes.bar(plot.edges[:-1], plot.counts, width=widths, align="edge", color="#52606d")
        for threshold in plot.thresholds:
            axes.axvline(threshold, color="#c0392b", linewidth=1.2)
            axes.annotate(
                f"{threshold:g}",
                (threshold, 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                color="#c0392b",
                ha="left",
                va="top",
            )
        axes.set_xlabel(plot.x_label, fontsize=8)
        axes.set_ylabel("count", fontsize=8)
    elif isinstance(plot, Distribution):
        axes.hist(plot.values, bins=min(40, max(5, len(plot.values) // 5)), color="#3e7cb1")
        axes.set_xlabel(f"size ({plot.unit})" if plot.unit else "size", fontsize=8)
        axes.set_ylabel("count", fontsize=8)
    else:
        names = [name for name, _ in plot.parts]
        values = [100 * value for _, value in plot.parts]
        axes.barh(names, values, color="#3e7cb1")
        axes.set_xlabel("fraction (%)", fontsize=8)
        axes.set_xlim(0, 100)


def plot_png(plot: Plot) -> bytes:
    """Draw one plot as a PNG."""
    figure = _figure()
    _draw(plot, figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PLOT_DPI)
    return buffer.getvalue()


def plot_flowable(plot: Plot, *, width: float) -> Flowable:
    """A plot scaled to the page width."""
    image = Image(io.BytesIO(plot_png(plot)))
    scale = width / image.imageWidth
    image.drawWidth, image.drawHeight = width, image.imageHeight * scale
    return image


def nice_length(approx: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``approx`` (scale bar lengths)."""
    if approx <= 0:
        raise ValueError("a scale bar needs a positive length")
    power = 10 ** math.floor(math.log10(approx))
    return float(max(m * power for m in (1, 2, 5) if m * power <= approx))


class ScaledPicture(Flowable):
    """A preview image with a scale bar drawn in its lower right corner."""

    def __init__(self, picture: Picture, width: float, max_height: float) -> None:
        super().__init__()
        self._reader = ImageReader(io.BytesIO(picture.png))
        self._pixels = self._reader.getSize()
        scale = min(width / self._pixels[0], max_height / self._pixels[1])
        self.width, self.height = self._pixels[0] * scale, self._pixels[1] * scale
        self._picture = picture

    def wrap(self, _avail_width: float, _avail_height: float) -> tuple[float, float]:
        """The drawn size."""
        return self.width, self.height

    def draw(self) -> None:
        """Draw the image, then the bar and its length."""
        canvas = self.canv
        canvas.drawImage(self._reader, 0, 0, self.width, self.height)
        picture = self._picture
        if not picture.pixel_size:
            return
        span = picture.pixel_size * self._pixels[0]
        length = nice_length(span / 4)
        bar_w = self.width * length / span
        x, y = self.width - bar_w - 3 * mm, 3 * mm
        canvas.setFillColor(colors.white)
        canvas.setStrokeColor(colors.black)
        canvas.setLineWidth(0.6)
        canvas.rect(x, y, bar_w, 1.6 * mm, fill=1, stroke=1)
        label = f"{length:g} {picture.unit}".strip()
        canvas.setFont(SANS_BOLD, 7)
        canvas.setFillColor(colors.black)
        canvas.drawCentredString(x + bar_w / 2 + 0.3, y + 2.4 * mm - 0.3, label)
        canvas.setFillColor(colors.white)
        canvas.drawCentredString(x + bar_w / 2, y + 2.4 * mm, label)


def picture_flowable(picture: Picture, *, width: float, max_height: float) -> Flowable:
    """The image with its scale bar and caption, kept on one page."""
    return KeepTogether(
        [
            ScaledPicture(picture, width, max_height),
            Spacer(1, 1.5 * mm),
            para(picture.caption, "small"),
            Spacer(1, 3 * mm),
        ]
    )


def picture_grid(pictures: Sequence[Picture], *, width: float, max_height: float) -> list[Flowable]:
    """Pictures two to a row, each with its scale bar and caption; rows never split."""
    cell_width = (width - 6 * mm) / 2
    rows = []
    for start in range(0, len(pictures), 2):
        pair = [
            [ScaledPicture(p, cell_width, max_height), para(p.caption, "small")]
            for p in pictures[start : start + 2]
        ]
        rows.append(pair + [""] * (2 - len(pair)))
    grid = LongTable(rows, colWidths=[cell_width + 3 * mm] * 2)
    grid.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 7),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm),
            ]
        )
    )
    return [grid]


def plot_block(plot: Plot, *, width: float) -> Flowable:
    """A plot (its title is drawn inside it) kept whole on one page."""
    return KeepTogether([Spacer(1, 3 * mm), plot_flowable(plot, width=width)])


__all__ = ["SANS", "nice_length", "picture_flowable", "picture_grid", "plot_block", "plot_png"]
