"""Dataset report: a version with its files, metadata, lineage, signatures and audit excerpt."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from reports.content import DatasetReport, Table
from reports.render.blocks import (
    audit_excerpt,
    data_table,
    heading,
    key_values,
    signature_block,
    title_block,
)
from reports.render.document import MARGIN, build_pdf, page_size
from reports.render.figures import picture_flowable


def render_dataset(report: DatasetReport) -> bytes:
    """The dataset report as PDF bytes (unsealed)."""
    width = page_size(wide=False)[0] - 2 * MARGIN
    story: list[Flowable] = title_block(
        report.meta,
        [
            ("Project / sample", f"{report.project} / {report.sample}"),
            ("Dataset", report.dataset),
            ("Author", report.author),
            ("Committed", report.created_at),
            ("Reason", report.reason),
            ("Manifest SHA-256", report.manifest_sha256),
            ("Array digest", report.array_digest or "(not an image)"),
            ("Total size", f"{report.total_bytes:,} bytes"),
        ],
        width=width,
    )
    if report.preview is not None:
        story += heading("Preview")
        story.append(picture_flowable(report.preview, width=width * 0.6, max_height=90 * mm))
    story += heading("Metadata")
    story.append(key_values(report.metadata or [("(none)", "")], width=width))
    story += data_table(
        Table(
            "Files",
            ("Path", "Size (bytes)", "SHA-256"),
            tuple((f.path, f"{f.size_bytes:,}", f.sha256) for f in report.files),
        ),
        width=width,
        weights=(3, 1.2, 4.6),
        mono=(2,),
    )
    story += data_table(
        Table(
            "Lineage",
            ("Version", "Id", "Author", "Committed", "Reason"),
            tuple(
                (f"v{v.number}", v.version_id, v.author, v.created_at, v.reason)
                for v in report.lineage
            ),
        ),
        width=width,
        weights=(0.8, 3.2, 1.6, 2.4, 2.4),
        mono=(1,),
    )
    story += heading("Signatures")
    story += signature_block(report.signatures, width=width)
    story += audit_excerpt(report.audit, width=width, title="Audit trail of this record")
    return build_pdf(report.meta, story)
