"""Audit trail report: a filtered view of the trail as a paginated landscape table."""

from __future__ import annotations

from reportlab.platypus import Flowable

from reports.content import AuditTrailReport
from reports.render.blocks import audit_excerpt, title_block
from reports.render.document import MARGIN, build_pdf, page_size


def render_audit_trail(report: AuditTrailReport) -> bytes:
    """The audit trail report as PDF bytes (unsealed), oldest event first."""
    width = page_size(wide=True)[0] - 2 * MARGIN
    story: list[Flowable] = title_block(
        report.meta,
        [("Filter", report.filter_text), ("Chain verification", report.chain_status)],
        width=width,
    )
    story += audit_excerpt(report.events, width=width, title=f"{len(report.events)} events")
    return build_pdf(report.meta, story, wide=True)
