"""The page frame every report shares: header with lab name and logo, "page x of y" footer.

Every page carries the report id, the record id@version and, for an amended record, the
"amended (n versions)" marker (A11-09). Page totals are known only at the end, so the
canvas keeps each page's drawing and stamps the footers when the document is saved.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from reports.content import ReportMeta
from reports.render.fonts import MONO, SANS, SANS_BOLD, register_fonts

MARGIN = 16 * mm
HEADER_H = 16 * mm
FOOTER_H = 12 * mm
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#9aa5b1")


def page_size(*, wide: bool) -> tuple[float, float]:
    """A4 portrait, or landscape for wide tables."""
    return landscape(A4) if wide else A4


def _header(canvas: Canvas, meta: ReportMeta, width: float, height: float) -> None:
    top = height - MARGIN + 4 * mm
    x = MARGIN
    if meta.logo_png:
        logo = ImageReader(io.BytesIO(meta.logo_png))
        w, h = logo.getSize()
        logo_h = 10 * mm
        logo_w = logo_h * w / h
        canvas.drawImage(logo, x, top - logo_h, logo_w, logo_h, mask="auto")
        x += logo_w + 3 * mm
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 11)
    canvas.drawString(x, top - 5 * mm, meta.lab_name)
    canvas.setFont(SANS, 8)
    canvas.setFillColor(MUTED)
    canvas.drawString(x, top - 9 * mm, meta.title)
    canvas.drawRightString(width - MARGIN, top - 5 * mm, f"{meta.record_type} {meta.record_label}")
    if meta.amended_text:
        canvas.setFillColor(colors.HexColor("#b44d12"))
        canvas.drawRightString(width - MARGIN, top - 9 * mm, meta.amended_text)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, top - 11.5 * mm, width - MARGIN, top - 11.5 * mm)


def _footer(canvas: Canvas, meta: ReportMeta, width: float, page: int, total: int) -> None:
    y = MARGIN - 6 * mm
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, y + 4 * mm, width - MARGIN, y + 4 * mm)
    canvas.setFillColor(MUTED)
    canvas.setFont(SANS, 7)
    canvas.drawString(MARGIN, y, f"Report {meta.report_id}")
    amended = f" · {meta.amended_text}" if meta.amended_text else ""
    canvas.drawString(MARGIN, y - 3.5 * mm, f"{meta.record_type} {meta.record_label}{amended}")
    canvas.setFont(SANS_BOLD, 7)
    canvas.drawRightString(width - MARGIN, y, f"page {page} of {total}")


def _canvas_class(meta: ReportMeta) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Holds every page until ``save`` so each footer can say "page x of y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
            # Every font in the file is embedded: start pages in DejaVu, not the built-in
            # Helvetica reportlab would otherwise declare on each page.
            kwargs["initialFontName"] = SANS
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab internals

        def save(self) -> None:
            total = len(self._pages)
            width = self._pagesize[0]  # type: ignore[attr-defined]
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                _footer(self, meta, width, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def build_pdf(meta: ReportMeta, story: Sequence[Flowable], *, wide: bool = False) -> bytes:
    """Lay out ``story`` on framed pages and return the PDF bytes (not yet sealed)."""
    register_fonts()
    size = page_size(wide=wide)
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_H - 4 * mm,
        bottomMargin=MARGIN,
        title=f"{meta.title} {meta.record_label}",
        author=meta.lab_name,
        subject=f"ctvault report {meta.report_id}",
        creator="ctvault",
        invariant=1,
    )
    frame = Frame(
        document.leftMargin,
        document.bottomMargin,
        document.width,
        document.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
    )

    def on_page(canvas: Canvas, _document: BaseDocTemplate) -> None:
        canvas.saveState()
        _header(canvas, meta, size[0], size[1])
        canvas.restoreState()

    document.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    document.build(list(story), canvasmaker=_canvas_class(meta))
    return buffer.getvalue()


__all__ = ["MONO", "SANS", "SANS_BOLD", "build_pdf", "page_size"]
