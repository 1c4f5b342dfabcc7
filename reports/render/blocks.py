"""Building blocks of report pages: styles, key/value and data tables, signature block."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    Spacer,
    TableStyle,
)

from audit.chain import format_time
from audit.query import EventView
from reports.content import ReportMeta, SignatureLine, Table
from reports.render.document import MONO, SANS, SANS_BOLD
from reports.render.fonts import register_fonts

HEAD_BG = colors.HexColor("#e8edf3")
ZEBRA = colors.HexColor("#f7f9fb")
GRID = colors.HexColor("#9aa5b1")
# A cell that may not fit its column wraps (a Paragraph); others stay plain strings, which
# reportlab lays out far faster in tables of thousands of rows. Widths in points at 7 pt.
WIDEST_CHAR = 4.6
CELL_PADDING = 8


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """The report's paragraph styles (DejaVu, embedded)."""
    register_fonts()
    body = ParagraphStyle(
        "body", fontName=SANS, fontSize=9, leading=12, textColor=colors.HexColor("#1f2933")
    )
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7, leading=8.5),
        "mono": ParagraphStyle("mono", parent=body, fontName=MONO, fontSize=6.5, leading=8),
        "title": ParagraphStyle(
            "title", parent=body, fontName=SANS_BOLD, fontSize=18, leading=23, spaceAfter=4
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=13,
            leading=17,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=10.5,
            leading=14,
            spaceBefore=6,
            spaceAfter=3,
        ),
    }


def escape(text: object) -> str:
    """Text made safe for reportlab's paragraph markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(escape(text), styles()[style])


def heading(text: str, level: int = 1) -> list[Flowable]:
    """A heading that never ends up alone at the bottom of a page."""
    return [CondPageBreak(30 * mm), para(text, f"h{level}")]


def _style(*, header: bool) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), SANS, 7),
        ("GRID", (0, 0), (-1, -1), 0.25, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("FONT", (0, 0), (-1, 0), SANS_BOLD, 7),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
        ]
    else:
        commands += [("BACKGROUND", (0, 0), (0, -1), HEAD_BG), ("FONT", (0, 0), (0, -1), SANS_BOLD)]
    return TableStyle(commands)


def _cell(value: str, width: float, *, mono: bool = False) -> str | Paragraph:
    if mono:
        return Paragraph(escape(value), styles()["mono"])
    if len(value) * WIDEST_CHAR > width - CELL_PADDING or "\n" in value:
        return Paragraph(escape(value).replace("\n", "<br/>"), styles()["cell"])
    return value


def key_values(
    pairs: Iterable[tuple[str, str]], *, width: float, mono: Sequence[str] = ()
) -> LongTable:
    """A two-column table of labels and values; values named in ``mono`` use the mono font."""
    widths = [width * 0.28, width * 0.72]
    rows = [[label, _cell(value, widths[1], mono=label in mono)] for label, value in pairs]
    table = LongTable(rows, colWidths=widths)
    table.setStyle(_style(header=False))
    return table


def _natural_weights(table: Table, sample: int = 200) -> list[float]:
    """Column widths in proportion to their longest word or value (within limits)."""
    weights = []
    for index, header in enumerate(table.headers):
        words = [len(w) for w in header.split()]
        values = [len(row[index]) for row in table.rows[:sample]]
        weights.append(float(min(30, max(6, *words, *values))))
    return weights


def data_table(
    table: Table, *, width: float, weights: Sequence[float] | None = None, mono: Sequence[int] = ()
) -> list[Flowable]:
    """A titled table that breaks across pages and repeats its header row on each."""
    weights = weights or _natural_weights(table)
    scale = width / sum(weights)
    header = [Paragraph(f"<b>{escape(h)}</b>", styles()["cell"]) for h in table.headers]
    rows: list[list[Any]] = [header]
    widths = [w * scale for w in weights]
    rows.extend(
        [_cell(v, widths[i], mono=i in mono) for i, v in enumerate(row)] for row in table.rows
    )
    body = LongTable(rows, colWidths=widths, repeatRows=1)
    body.setStyle(_style(header=True))
    out: list[Flowable] = []
    if table.title:
        out.extend(heading(table.title, 2))
    if not table.rows:
        out.append(para("(none)", "small"))
        return out
    out.append(body)
    return out


def _is_identity(label: str) -> bool:
    return label == "Report id" or "SHA-256" in label or "digest" in label


def title_block(
    meta: ReportMeta, facts: Sequence[tuple[str, str]], *, width: float
) -> list[Flowable]:
    """The first page's title, record identity, status and amendment marker."""
    pairs = [
        ("Record", f"{meta.record_type} {meta.record_label}"),
        ("Status", meta.status),
        *facts,
        ("Report id", meta.report_id),
        ("Generated", f"{meta.generated_at} by {meta.generated_by}"),
    ]
    if meta.amended_text:
        pairs.insert(2, ("Amendments", meta.amended_text))
    return [
        para(meta.title, "title"),
        key_values(pairs, width=width, mono=[k for k, _ in pairs if _is_identity(k)]),
        Spacer(1, 4 * mm),
    ]


def signature_block(signatures: Sequence[SignatureLine], *, width: float) -> list[Flowable]:
    """The manifestation of every signature: printed name, date and time with zone, meaning.

    A withdrawn signature stays listed, its meaning followed by the withdrawal.
    """
    table = Table(
        "",
        ("Printed name", "Date and time (with zone)", "Meaning"),
        tuple(
            (
                s.printed_name,
                s.signed_at,
                f"{s.meaning} (WITHDRAWN {s.withdrawn})" if s.withdrawn else s.meaning,
            )
            for s in signatures
        ),
    )
    block = data_table(table, width=width, weights=(3, 3, 2))
    if not signatures:
        block[-1] = para("This record carries no signatures.", "small")
    return [KeepTogether(block)]


def audit_excerpt(events: Sequence[EventView], *, width: float, title: str) -> list[Flowable]:
    """The audit events of a record, oldest first: who did what, when, and why."""
    table = Table(
        title,
        ("#", "When (UTC)", "Who", "Action", "Change", "Why"),
        tuple(
            (
                str(e.seq),
                format_time(e.occurred_at),
                e.actor_name,
                e.action,
                "\n".join(e.change_lines()),
                e.reason,
            )
            for e in events
        ),
    )
    return data_table(table, width=width, weights=(0.6, 2.6, 1.8, 1.8, 4.5, 2.2))
