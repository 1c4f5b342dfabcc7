"""The built-in signable records: analysis revisions, dataset versions, step validations.

Each loader builds the canonical content a signer attests to, with the digests of the data
it references (file SHA-256s, run record and output digests), so a change to any of them
changes the record's digest.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import AuditEvent
from audit.chain import format_time
from lims.auth.identity import Identity, require
from lims.auth.roles import Permission
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import (
    Analysis,
    AnalysisRevision,
    DatasetVersion,
    ProcessingStep,
    Run,
    RunResult,
    Sample,
    Signature,
)
from signatures.registry import RecordType, SignableRecord, register

ANALYSIS = "analysis"
DATASET_VERSION = "dataset_version"
STEP_VALIDATION = "step_validation"
RUN = "run"


def _uuid(record_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(record_id)
    except ValueError:
        return None


def signed_by(
    session: Session, record_type: str, record_id: str
) -> dict[str, frozenset[uuid.UUID]]:
    """Who has signed a record, by meaning."""
    rows = session.execute(
        select(Signature.meaning, Signature.signer_id).where(
            Signature.record_type == record_type, Signature.record_id == record_id
        )
    )
    found: dict[str, set[uuid.UUID]] = defaultdict(set)
    for meaning, signer in rows:
        found[meaning].add(signer)
    return {meaning: frozenset(ids) for meaning, ids in found.items()}


def version_content(version: DatasetVersion) -> dict[str, Any]:
    """What "this acquisition is verified" attests to: the version, its files and digests."""
    return {
        "version_id": str(version.id),
        "dataset_id": str(version.dataset_id),
        "dataset": version.dataset.name,
        "number": version.number,
        "author_id": str(version.author_id),
        "reason": version.reason,
        "metadata": version.metadata_,
        "manifest_sha256": version.manifest_sha256,
        "files": sorted(
            (
                {"path": f.path, "sha256": f.blob_sha256, "size": f.size_bytes}
                for f in version.files
            ),
            key=lambda f: str(f["path"]),
        ),
    }


def run_content(session: Session, run: Run) -> dict[str, Any]:
    """A run as an analysis references it: its record digest and its outputs' digests."""
    result = session.get(RunResult, run.id)
    return {
        "run_id": str(run.id),
        "record_sha256": run.record_sha256,
        "status": result.status if result else "unfinished",
        "outputs": result.outputs if result else [],
    }


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
    key = _uuid(record_id)
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
    key = _uuid(record_id)
    if key is None:
        return
    analysis_id = select(AnalysisRevision.analysis_id).where(AnalysisRevision.id == key)
    session.execute(select(Analysis.id).where(Analysis.id.in_(analysis_id)).with_for_update())
    session.expire_all()


def _load_version(session: Session, record_id: str) -> SignableRecord | None:
    key = _uuid(record_id)
    version = session.get(DatasetVersion, key) if key else None
    if version is None:
        return None
    sample = session.get(Sample, version.dataset.sample_id)
    return SignableRecord(
        record_type=DATASET_VERSION,
        record_id=record_id,
        title=f"dataset “{version.dataset.name}”, version {version.number}",
        content=version_content(version),
        state="committed",
        project_id=sample.project_id if sample else None,
        authors=frozenset({version.author_id}),
        signed_by=signed_by(session, DATASET_VERSION, record_id),
    )


def check_version(record: SignableRecord, identity: Identity, meaning: str) -> None:
    """Anyone with DATA_VERIFY but the version's author verifies it, once."""
    require(identity, Permission.DATA_VERIFY, record.project_id, action="verify an acquisition")
    if identity.user_id in record.authors:
        raise PermissionDeniedError("the author of a dataset version may not verify it")
    if identity.user_id in record.signed_by.get(meaning, frozenset()):
        raise ConflictError("you have already signed this dataset version as verified")


def _load_run(session: Session, record_id: str) -> SignableRecord | None:
    key = _uuid(record_id)
    run = session.get(Run, key) if key else None
    if run is None:
        return None
    content = run_content(session, run)
    return SignableRecord(
        record_type=RUN,
        record_id=record_id,
        title=f"run of {run.workflow.name} v{run.workflow.version}",
        content=content,
        state=str(content["status"]),
        project_id=run.project_id,
        authors=frozenset({run.submitted_by_id}),
        signed_by=signed_by(session, RUN, record_id),
    )


def check_run(record: SignableRecord, identity: Identity, meaning: str) -> None:
    """A finished run is reviewed, then approved, by two people other than its submitter."""
    if record.state == "unfinished":
        raise ConflictError("a run is signed only once it has finished")
    permission = (
        Permission.ANALYSIS_REVIEW if meaning == "reviewed" else Permission.ANALYSIS_APPROVE
    )
    require(identity, permission, record.project_id, action=f"sign a run as {meaning}")
    if identity.user_id in record.authors:
        raise PermissionDeniedError("nobody may review or approve a run they submitted")
    if identity.user_id in record.signed_by.get(meaning, frozenset()):
        raise ConflictError(f"you have already signed this run as {meaning}")
    reviewers = record.signed_by.get("reviewed", frozenset())
    if meaning == "approved" and not reviewers:
        raise ConflictError("a run is approved only after it has been reviewed")
    if meaning == "approved" and identity.user_id in reviewers:
        raise PermissionDeniedError("the reviewer of a run may not also approve it")


def _load_step_change(session: Session, record_id: str) -> SignableRecord | None:
    seq = int(record_id) if record_id.isdigit() else None
    event = session.get(AuditEvent, seq) if seq else None
    if event is None or event.action != "step.state_change":
        return None
    step = session.get(ProcessingStep, uuid.UUID(event.object_id))
    return SignableRecord(
        record_type=STEP_VALIDATION,
        record_id=record_id,
        title=f"validation state change of step {step.name} v{step.version}"
        if step
        else "validation state change",
        content={
            "audit_seq": event.seq,
            "audit_hash": event.hash,
            "step_id": event.object_id,
            "changes": event.changes,
            "reason": event.reason,
            "actor_id": str(event.actor_id),
            "occurred_at": format_time(event.occurred_at),
        },
        state="recorded",
        authors=frozenset({event.actor_id} if event.actor_id else set()),
        signed_by=signed_by(session, STEP_VALIDATION, record_id),
    )


def check_step_change(record: SignableRecord, identity: Identity, meaning: str) -> None:
    """Only the administrator who made a validation state change signs it, once."""
    if not identity.is_admin or identity.user_id not in record.authors:
        raise PermissionDeniedError(
            "only the administrator who changed a step's validation state signs that change"
        )
    if record.signed_by:
        raise ConflictError("this validation state change is already signed")
    del meaning


BUILTIN = (
    RecordType(
        ANALYSIS,
        "analysis",
        frozenset({"authored", "reviewed", "approved", "rejected"}),
        _load_analysis,
        check_analysis,
        lock_analysis,
    ),
    RecordType(
        DATASET_VERSION, "dataset version", frozenset({"verified"}), _load_version, check_version
    ),
    RecordType(RUN, "run", frozenset({"reviewed", "approved"}), _load_run, check_run),
    RecordType(
        STEP_VALIDATION,
        "step validation",
        frozenset({"approved"}),
        _load_step_change,
        check_step_change,
    ),
)


def register_builtin() -> None:
    """Register the record types above (idempotent)."""
    for record_type in BUILTIN:
        register(record_type)
