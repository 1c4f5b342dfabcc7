"""Ingest: store the bytes of files or uploads, then commit one dataset version atomically.

Bytes go to the blob store first (outside any transaction; a blob is harmless until a
version references it). The dataset, version, file rows and audit event are then written in
one transaction. If anything fails, blobs this ingest created are removed again, so a failed
ingest leaves no visible version and no new blob (invariant 7).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import UserError
from lims.models import Blob, Dataset, DatasetVersion
from lims.services import access
from lims.services.catalogue import find_sample, validate_name
from lims.services.changes import refuse_if_retired
from lims.services.context import ServiceContext
from lims.services.preparation import schedule_preparation
from lims.storage.blobstore import StoredBlob
from lims.storage.errors import SourceReadError
from lims.storage.versions import FileEntry, commit_version, normalize_relative_path

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True, slots=True)
class StagedFile:
    """A file whose bytes are safely in the store, waiting to join a version."""

    path: str
    blob: StoredBlob


@dataclasses.dataclass(frozen=True, slots=True)
class IngestTarget:
    """Where an ingest goes: project and sample by name, and the dataset name."""

    project: str
    sample: str
    dataset: str


def list_source_files(source: Path) -> list[tuple[str, Path]]:
    """The files to ingest under ``source`` as (relative path, absolute path), sorted.

    Raises:
        SourceReadError: the path is missing or unreadable, or a folder holds no files.
    """
    if not source.exists():
        raise SourceReadError(f"{source}: no such file or folder")
    if source.is_file():
        return [(source.name, source)]
    if not os.access(source, os.R_OK | os.X_OK):
        raise SourceReadError(f"{source}: permission denied")
    found = []
    for folder, subfolders, names in os.walk(source, onerror=_raise_walk_error):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if not path.is_file():
                raise SourceReadError(f"{path}: not a regular file (broken link or device)")
            found.append((path.relative_to(source).as_posix(), path))
    if not found:
        raise SourceReadError(f"{source}: the folder holds no files")
    return found


def _raise_walk_error(error: OSError) -> None:
    raise SourceReadError(f"{error.filename}: {error.strerror}")


def total_size(files: Sequence[tuple[str, Path]]) -> int:
    """Bytes in the listed files (for progress bars)."""
    return sum(path.stat().st_size for _, path in files)


def stage_files(
    ctx: ServiceContext, files: Sequence[tuple[str, Path]], progress: Progress | None = None
) -> list[StagedFile]:
    """Store each file's bytes, several files at once (hashing releases the GIL).

    On failure, blobs created by this call are removed before the error propagates.
    """
    ctx.require_identity()

    def stage(item: tuple[str, Path]) -> StagedFile:
        relative, path = item
        return StagedFile(normalize_relative_path(relative), ctx.blobstore.put_file(path, progress))

    staged: list[StagedFile] = []
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, ctx.settings.ingest_threads)) as pool:
        futures = [pool.submit(stage, item) for item in files]
        for future in futures:
            try:
                staged.append(future.result())
            except Exception as exc:  # noqa: BLE001 - first failure re-raised below
                failure = failure or exc
                for other in futures:
                    other.cancel()
    if failure is not None:
        discard_staged(ctx, staged)
        raise failure
    return staged


def stage_stream(
    ctx: ServiceContext,
    relative_path: str,
    stream: BinaryIO,
    *,
    expected_size: int | None,
    progress: Progress | None = None,
) -> StagedFile:
    """Store one uploaded stream's bytes (refused if it yields other than ``expected_size``)."""
    ctx.require_identity()
    path = normalize_relative_path(relative_path)
    blob = ctx.blobstore.put_stream(
        stream, expected_size=expected_size, source_name=path, progress=progress
    )
    return StagedFile(path, blob)


def discard_staged(ctx: ServiceContext, staged: Sequence[StagedFile]) -> None:
    """Remove blobs that were new to the store and that no committed row references."""
    session = ctx.uow.session
    for item in staged:
        if not item.blob.is_new:
            continue
        referenced = session.scalar(
            select(func.count()).select_from(Blob).where(Blob.sha256 == item.blob.sha256)
        )
        if not referenced:
            ctx.blobstore.discard_new(item.blob.sha256)


def commit_ingest(
    ctx: ServiceContext,
    target: IngestTarget,
    staged: Sequence[StagedFile],
    *,
    reason: str,
    metadata: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Create the dataset if needed and add a version with the staged files.

    The caller commits the unit of work; on any error it must roll back and call
    ``discard_staged``.

    Raises:
        NotFoundError: the project or sample does not exist (never guessed or created).
        UserError: no reason, no files, duplicate paths.
    """
    identity = ctx.require_identity()
    if not reason.strip():
        raise UserError("an ingest needs a reason (for example 'acquired on instrument X')")
    sample = find_sample(ctx, target.project, target.sample)
    access.check(ctx, Permission.DATA_WRITE, sample.project_id)
    refuse_if_retired(ctx, ("project", sample.project_id), ("sample", sample.id))
    name = validate_name(target.dataset, "dataset")
    session = ctx.uow.session
    dataset = session.scalars(
        select(Dataset).where(
            Dataset.sample_id == sample.id, func.lower(Dataset.name) == name.lower()
        )
    ).first()
    if dataset is None:
        dataset = Dataset(sample_id=sample.id, name=name, created_by_id=identity.user_id)
        session.add(dataset)
        session.flush()
        ctx.audit(
            EventDraft(
                action="dataset.create",
                object_type="dataset",
                object_id=str(dataset.id),
                changes={"sample_id": [None, str(sample.id)], "name": [None, name]},
            )
        )
    refuse_if_retired(ctx, ("dataset", dataset.id))
    files = [FileEntry(s.path, s.blob.sha256, s.blob.size_bytes) for s in staged]
    version = commit_version(
        session,
        dataset,
        files=files,
        author_id=identity.user_id,
        reason=reason,
        metadata=metadata,
    )
    schedule_preparation(ctx, version.id)
    ctx.audit(
        EventDraft(
            action="version.create",
            object_type="dataset_version",
            object_id=str(version.id),
            changes={
                "dataset_id": str(dataset.id),
                "number": version.number,
                "parent_id": str(version.parent_id) if version.parent_id else None,
                "files": len(files),
                "total_bytes": version.total_bytes,
                "manifest_sha256": version.manifest_sha256,
            },
            reason=version.reason,
        )
    )
    return version


def ingest_path(
    ctx: ServiceContext,
    target: IngestTarget,
    source: Path,
    *,
    reason: str,
    metadata: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> DatasetVersion:
    """Ingest a file or a folder as one new dataset version and commit it.

    The project and sample are checked before a single byte is read.
    """
    sample = find_sample(ctx, target.project, target.sample)
    access.check(ctx, Permission.DATA_WRITE, sample.project_id)
    if not reason.strip():
        raise UserError("an ingest needs a reason (for example 'acquired on instrument X')")
    files = list_source_files(source)
    staged = stage_files(ctx, files, progress)
    source_meta = {
        "source": {
            "path": str(source.resolve()),
            "host": socket.gethostname(),
            "file_count": len(files),
        }
    }
    try:
        version = commit_ingest(
            ctx, target, staged, reason=reason, metadata={**source_meta, **(metadata or {})}
        )
        ctx.uow.commit()
    except BaseException:
        ctx.uow.rollback()
        discard_staged(ctx, staged)
        raise
    return version
