"""Audit trail report: a filtered view of the trail as a paginated PDF table."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from audit.chain import format_time
from audit.query import EventView

COLUMN_WIDTHS_MM = (14, 38, 42, 34, 48, 70, 31)


@dataclasses.dataclass(frozen=True, slots=True)
class AuditReportHeader:
    """What the title block says about the export."""

    lab_name: str
    generated_by: str
    generated_at: str
    filter_text: str
    chain_status: str


def _footer(total: int | None) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        of_total = f" of {total}" if total else ""
        canvas.drawRightString(
            landscape(A4)[0] - 12 * mm, 8 * mm, f"page {document.page}{of_total}"
        )
        canvas.restoreState()

    return draw


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _row(event: EventView, cell: ParagraphStyle, mono: ParagraphStyle) -> list[Any]:
    return [
        Paragraph(str(event.seq), cell),
        Paragraph(format_time(event.occurred_at), cell),
        Paragraph(_escape(event.actor_name), cell),
        Paragraph(_escape(event.action), cell),
        Paragraph(f"{_escape(event.object_type)}<br/>{_escape(event.object_id)}", mono),
        Paragraph("<br/>".join(_escape(line) for line in event.change_lines()), cell),
        Paragraph(
            f"{_escape(event.reason)}<br/><font name='Courier' size='6'>{event.hash[:16]}…</font>",
            cell,
        ),
    ]


def _table(rows: list[list[Any]]) -> LongTable:
    table = LongTable(rows, colWidths=[w * mm for w in COLUMN_WIDTHS_MM], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f9fb")]),
            ]
        )
    )
    return table


def build_audit_pdf(header: AuditReportHeader, events: Iterable[EventView]) -> bytes:
    """Render the events (oldest first) as an A4 landscape PDF with repeated table headers."""
    styles = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=styles["BodyText"], fontSize=7, leading=8.5)
    mono = ParagraphStyle("mono", parent=cell, fontName="Courier", fontSize=6.5)
    rows: list[list[Any]] = [
        [
            Paragraph(f"<b>{name}</b>", cell)
            for name in ("#", "When (UTC)", "Who", "Action", "Object", "Change", "Why / hash")
        ]
    ]
    rows.extend(_row(event, cell, mono) for event in events)

    def story() -> list[Any]:
        return [
            Paragraph(f"{_escape(header.lab_name)} — audit trail report", styles["Title"]),
            Paragraph(f"Filter: {_escape(header.filter_text)}", styles["BodyText"]),
            Paragraph(
                f"Generated {header.generated_at} by {_escape(header.generated_by)}. "
                f"Chain verification: {_escape(header.chain_status)}",
                styles["BodyText"],
            ),
            Spacer(1, 4 * mm),
            _table(rows),
        ]

    # Two passes: the first counts the pages so every footer can say "page x of y".
    total: int | None = None
    pdf = b""
    for _ in range(2):
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=landscape(A4),
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=12 * mm,
            bottomMargin=14 * mm,
            title="ctvault audit trail report",
            author=header.generated_by,
        )
        footer = _footer(total)
        document.build(story(), onFirstPage=footer, onLaterPages=footer)
        total = document.page
        pdf = buffer.getvalue()
    return pdf
