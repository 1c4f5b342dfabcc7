"""Reports are signable records: QA signs a filed report as reviewed, then approved.

What a signer attests to is the report's identity and the SHA-256 of its sealed PDF, so a
signature stays bound to exactly those bytes. Importing this module registers the record
type (``lims.services.signing`` imports it before any signature is made or verified).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lims.auth.identity import Identity, require
from lims.auth.roles import Permission
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import Report
from signatures.records import signed_by
from signatures.registry import RecordType, SignableRecord, register

REPORT = "report"


def report_content(report: Report) -> dict[str, Any]:
    """The canonical content of a report signature."""
    return {
        "report_id": str(report.id),
        "kind": report.kind,
        "title": report.title,
        "record": {
            "type": report.object_type,
            "id": report.object_id,
            "version": report.record_version,
        },
        "sha256": report.blob_sha256,
        "size_bytes": report.size_bytes,
        "pages": report.page_count,
        "seal": report.seal_subject,
    }


def load_report(session: Session, record_id: str) -> SignableRecord | None:
    """A filed report as a signer sees it (None when there is no such report)."""
    try:
        report = session.get(Report, uuid.UUID(record_id))
    except ValueError:
        return None
    if report is None:
        return None
    return SignableRecord(
        record_type=REPORT,
        record_id=record_id,
        title=report.title,
        content=report_content(report),
        state="filed",
        project_id=report.project_id,
        authors=frozenset({report.requested_by_id}),
        signed_by=signed_by(session, REPORT, record_id),
    )


def check_report(record: SignableRecord, identity: Identity, meaning: str) -> None:
    """QA reviews a report, then someone else approves it; each person signs a meaning once."""
    permission = (
        Permission.ANALYSIS_REVIEW if meaning == "reviewed" else Permission.ANALYSIS_APPROVE
    )
    require(identity, permission, record.project_id, action=f"sign a report as {meaning}")
    if identity.user_id in record.signed_by.get(meaning, frozenset()):
        raise ConflictError(f"you have already signed this report as {meaning}")
    reviewers = record.signed_by.get("reviewed", frozenset())
    if meaning == "approved" and not reviewers:
        raise ConflictError("a report is approved only after it has been reviewed")
    if meaning == "approved" and identity.user_id in reviewers:
        raise PermissionDeniedError("the reviewer of a report may not also approve it")


REPORT_TYPE = RecordType(
    REPORT, "report", frozenset({"reviewed", "approved"}), load_report, check_report
)
register(REPORT_TYPE)
