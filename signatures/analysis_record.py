"""Analysis revisions: signed *authored*, *reviewed*, *approved* or *rejected*.

The content is the revision's text with the digests of every dataset version and run it
rests on. The checks enforce the review states and separation of duties.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lims.auth.identity import Identity, require
from lims.auth.roles import Permission
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import Analysis, AnalysisRevision, DatasetVersion, Run
from signatures.data_records import run_content, version_content
from signatures.lookup import parse_uuid, signed_by
from signatures.registry import RecordType, SignableRecord

ANALYSIS = "analysis"


def analysis_content(
    session: Session,
    *,
    analysis_id: uuid.UUID,
    revision: int,
    title: str,
    purpose: str,
    results: str,
    conclusions: str,
    dataset_versions: list[str],
    runs: list[str],
    author_id: uuid.UUID,
) -> dict[str, Any]:
    """An analysis revision's signed content, with the digests of everything it rests on."""
    versions = []
    for version_id in dataset_versions:
        version = session.get(DatasetVersion, uuid.UUID(version_id))
        versions.append(version_content(version) if version else {"version_id": version_id})
    run_rows = []
    for run_id in runs:
        run = session.get(Run, uuid.UUID(run_id))
        run_rows.append(run_content(session, run) if run else {"run_id": run_id})
    return {
        "analysis_id": str(analysis_id),
        "revision": revision,
        "title": title,
        "purpose": purpose,
        "results": results,
        "conclusions": conclusions,
        "author_id": str(author_id),
        "dataset_versions": versions,
        "runs": run_rows,
    }


def _load_analysis(session: Session, record_id: str) -> SignableRecord | None:
    key = parse_uuid(record_id)
    revision = session.get(AnalysisRevision, key) if key else None
    if revision is None:
        return None
    analysis = revision.analysis
    authors = {analysis.created_by_id, *(r.author_id for r in analysis.revisions)}
    current = revision.revision == analysis.current_revision
    content = analysis_content(
        session,
        analysis_id=analysis.id,
        revision=revision.revision,
        title=revision.title,
        purpose=revision.purpose,
        results=revision.results,
        conclusions=revision.conclusions,
        dataset_versions=list(revision.dataset_versions),
        runs=list(revision.runs),
        author_id=revision.author_id,
    )
    return SignableRecord(
        record_type=ANALYSIS,
        record_id=record_id,
        title=f"analysis “{revision.title}”, revision {revision.revision}",
        content=content,
        state=analysis.status if current else "superseded",
        project_id=analysis.project_id,
        authors=frozenset(authors),
        signed_by=signed_by(session, ANALYSIS, record_id),
    )


# meaning -> (state it needs, permission, what the person does)
_ANALYSIS_STEPS = {
    "authored": ("draft", Permission.ANALYSIS_WRITE, "submit this analysis"),
    "reviewed": ("submitted", Permission.ANALYSIS_REVIEW, "review this analysis"),
    "approved": ("reviewed", Permission.ANALYSIS_APPROVE, "approve this analysis"),
}


def check_analysis(record: SignableRecord, identity: Identity, meaning: str) -> None:
    """Role, separation of duties and review state for signing an analysis revision."""
    if record.state == "superseded":
        raise ConflictError("this revision has been superseded; sign the current revision")
    if meaning == "rejected":
        permission = {
            "submitted": Permission.ANALYSIS_REVIEW,
            "reviewed": Permission.ANALYSIS_APPROVE,
        }.get(record.state)
        if permission is None:
            raise ConflictError(f"a {record.state} analysis cannot be rejected")
        require(identity, permission, record.project_id, action="reject this analysis")
    else:
        state, permission, action = _ANALYSIS_STEPS[meaning]
        if record.state != state:
            raise ConflictError(
                f"this analysis is {record.state}; it must be {state} to be signed {meaning}"
            )
        require(identity, permission, record.project_id, action=action)
    if meaning == "authored":
        if identity.user_id not in record.authors:
            raise PermissionDeniedError("only the author of an analysis may submit it")
        return
    if identity.user_id in record.authors:
        raise PermissionDeniedError("nobody may review, approve or reject their own analysis")
    if meaning in ("approved", "rejected") and identity.user_id in record.signed_by.get(
        "reviewed", frozenset()
    ):
        raise PermissionDeniedError(
            "the reviewer of an analysis may not also approve or reject it at approval"
        )


def lock_analysis(session: Session, record_id: str) -> None:
    """Lock the analysis row of a revision (serialises concurrent reviewers)."""
    key = parse_uuid(record_id)
    if key is None:
        return
    analysis_id = select(AnalysisRevision.analysis_id).where(AnalysisRevision.id == key)
    session.execute(select(Analysis.id).where(Analysis.id.in_(analysis_id)).with_for_update())
    session.expire_all()


ANALYSIS_TYPE = RecordType(
    ANALYSIS,
    "analysis",
    frozenset({"authored", "reviewed", "approved", "rejected"}),
    _load_analysis,
    check_analysis,
    lock_analysis,
)
