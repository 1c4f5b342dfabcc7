"""commit_version(): the only code that creates a DatasetVersion (and its file rows)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from lims.errors import UserError
from lims.models import Blob, Dataset, DatasetVersion, VersionFile


@dataclasses.dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a version to be: relative path, blob digest and size."""

    path: str
    sha256: str
    size_bytes: int


def normalize_relative_path(raw: str) -> str:
    """A clean POSIX relative path inside a version, or a UserError saying why not."""
    text = raw.replace("\\", "/").strip()
    parts = [p for p in PurePosixPath(text).parts if p not in {"", "."}]
    if not parts or text.startswith("/") or ".." in parts:
        raise UserError(f"file path {raw!r} must be relative and stay inside the dataset")
    return "/".join(parts)


def manifest_sha256(files: Sequence[FileEntry], metadata: dict[str, Any]) -> str:
    r"""SHA-256 over the sorted ``path\\tsha256\\tsize`` lines and the canonical metadata."""
    lines = [f"{f.path}\t{f.sha256}\t{f.size_bytes}\n" for f in sorted(files, key=lambda f: f.path)]
    body = "".join(lines) + json.dumps(metadata, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def commit_version(
    session: Session,
    dataset: Dataset,
    *,
    files: Sequence[FileEntry],
    author_id: uuid.UUID,
    reason: str,
    metadata: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Add the next version of ``dataset`` in the session's transaction.

    Every blob must already be safely in the store. The new version's parent is the
    dataset's latest version; version numbers are allocated under a row lock on the dataset.

    Raises:
        UserError: no reason, no files, or two files with one path.
    """
    if not reason.strip():
        raise UserError("a new version needs a reason")
    if not files:
        raise UserError("a version needs at least one file")
    paths = [f.path for f in files]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise UserError(f"two files share the path {duplicates[0]!r}")
    session.execute(select(Dataset.id).where(Dataset.id == dataset.id).with_for_update())
    parent = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
    meta = dict(metadata or {})
    blob_rows = {f.sha256: f.size_bytes for f in files}
    session.execute(
        insert(Blob)
        .values([{"sha256": d, "size_bytes": s} for d, s in blob_rows.items()])
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=(parent.number + 1) if parent else 1,
        parent_id=parent.id if parent else None,
        author_id=author_id,
        reason=reason.strip(),
        metadata_=meta,
        total_bytes=sum(f.size_bytes for f in files),
        manifest_sha256=manifest_sha256(files, meta),
    )
    session.add(version)
    session.flush()
    session.add_all(
        VersionFile(
            version_id=version.id, path=f.path, blob_sha256=f.sha256, size_bytes=f.size_bytes
        )
        for f in files
    )
    session.flush()
    return version


def count_versions(session: Session, dataset_id: uuid.UUID) -> int:
    """How many versions a dataset has."""
    return (
        session.scalar(
            select(func.count())
            .select_from(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset_id)
        )
        or 0
    )
