"""Dataset versions (signed *verified*) and runs (signed *reviewed*, *approved*).

A version's content is its files (path, size, SHA-256), metadata, reason and author; a run's
is its record digest and its outputs' digests, so any change to them changes the digest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lims.auth.identity import Identity, require
from lims.auth.roles import Permission
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import DatasetVersion, Run, RunResult, Sample
from signatures.lookup import parse_uuid, signed_by
from signatures.registry import RecordType, SignableRecord

DATASET_VERSION = "dataset_version"
RUN = "run"


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


def _load_version(session: Session, record_id: str) -> SignableRecord | None:
    key = parse_uuid(record_id)
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
    key = parse_uuid(record_id)
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


VERSION_TYPE = RecordType(
    DATASET_VERSION, "dataset version", frozenset({"verified"}), _load_version, check_version
)
RUN_TYPE = RecordType(RUN, "run", frozenset({"reviewed", "approved"}), _load_run, check_run)
