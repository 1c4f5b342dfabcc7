"""Rendering of report values into PDF pages; no database access below this package."""

from __future__ import annotations

from reports.content import AnalysisReport, AuditTrailReport, DatasetReport, Report
from reports.render.analysis import render_analysis
from reports.render.audit_trail import render_audit_trail
from reports.render.dataset import render_dataset


def render(report: Report) -> bytes:
    """The report as PDF bytes (unsealed), by its kind."""
    if isinstance(report, AnalysisReport):
        return render_analysis(report)
    if isinstance(report, DatasetReport):
        return render_dataset(report)
    if isinstance(report, AuditTrailReport):
        return render_audit_trail(report)
    raise TypeError(f"not a report: {type(report).__name__}")


__all__ = ["render"]
