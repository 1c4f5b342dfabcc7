"""Browser uploads as batches: open, stage one file, commit, cancel, sweep (no Flask here).

Design: the browser sends each file as the raw body of its own PUT request, so no multipart
parser ever spools it to a temporary file or to memory. ``request.stream`` goes straight
into ``ingest.stage_stream``, which writes it into the content-addressed store while hashing
it, and refuses a body shorter than its Content-Length (a cut-off upload stores nothing).
The staged digests are remembered in Redis (``staging.UploadStaging``), not in the cookie,
because a folder may hold thousands of files. The commit claims the batch, checks again that
every staged blob is still in the store, and commits one version; if that fails it rolls
back and discards the blobs. Batches nobody commits are cancelled by the browser on error,
or swept after their expiry when the next upload starts.

The target is checked when the batch opens, before any byte is sent.
"""

from __future__ import annotations

import uuid
from typing import BinaryIO

from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import DatasetVersion
from lims.services import access, catalogue, changes, ingest
from lims.services.context import ServiceContext
from lims.web.uploads.staging import UploadBatch, UploadStaging


class UploadTooLargeError(UserError):
    """The upload is larger than ``max_upload_gb``."""


def open_batch(
    ctx: ServiceContext,
    staging: UploadStaging,
    *,
    sample_id: uuid.UUID,
    dataset: str,
    reason: str,
    now: float,
) -> UploadBatch:
    """Check the target and start a batch; expired batches of anyone are swept first.

    Raises:
        NotFoundError: the sample does not exist.
        UserError: no reason.
    """
    identity = ctx.require_identity()
    sample = catalogue.get_sample(ctx, sample_id)
    # Checked before any byte is stored: commit_ingest checks again at the end.
    access.check(ctx, Permission.DATA_WRITE, sample.project_id)
    changes.refuse_if_retired(ctx, ("project", sample.project_id), ("sample", sample.id))
    if not reason.strip():
        raise UserError("an upload needs a reason (for example 'acquired on instrument X')")
    sweep_expired(ctx, staging, now)
    return staging.open(
        user_id=identity.user_id, sample_id=sample_id, dataset=dataset, reason=reason, now=now
    )


def stage_file(
    ctx: ServiceContext,
    staging: UploadStaging,
    batch: UploadBatch,
    *,
    path: str,
    stream: BinaryIO,
    size_bytes: int,
    max_bytes: int,
) -> ingest.StagedFile:
    """Store one uploaded file's bytes and add it to the batch.

    Raises:
        UploadTooLargeError: the batch would exceed ``max_bytes``.
        SourceReadError: the body was shorter than announced (nothing stored).
        ConflictError: the batch already has this path (its new blob is discarded).
    """
    if staging.total_bytes(batch.id) + size_bytes > max_bytes:
        raise UploadTooLargeError(f"an upload holds at most {max_bytes} bytes")
    staged = ingest.stage_stream(ctx, path, stream, expected_size=size_bytes)
    try:
        staging.add(batch.id, staged)
        if not staging.is_open(batch.id):
            raise NotFoundError("this upload was finished or cancelled meanwhile")
    except UserError:
        ingest.discard_staged(ctx, [staged])
        raise
    return staged


def commit_batch(ctx: ServiceContext, staging: UploadStaging, batch: UploadBatch) -> DatasetVersion:
    """Commit the batch's files as one new version of its dataset.

    On any failure the transaction is rolled back and the staged blobs are discarded.

    Raises:
        NotFoundError: the batch was already committed, cancelled or swept.
        ConflictError: a staged blob has vanished from the store (upload again).
        UserError: whatever ``commit_ingest`` refuses (no files, bad dataset name).
    """
    if not staging.claim(batch.id):
        raise NotFoundError("this upload was already finished or cancelled")
    staged = staging.files(batch.id)
    staging.forget(batch.id)
    try:
        _check_staged(ctx, staged)
        sample = catalogue.get_sample(ctx, batch.sample_id)
        target = ingest.IngestTarget(sample.project.name, sample.name, batch.dataset)
        metadata = {"source": {"via": "browser upload", "file_count": len(staged)}}
        version = ingest.commit_ingest(ctx, target, staged, reason=batch.reason, metadata=metadata)
        ctx.uow.commit()
    except BaseException:
        ctx.uow.rollback()
        ingest.discard_staged(ctx, staged)
        raise
    return version


def _check_staged(ctx: ServiceContext, staged: list[ingest.StagedFile]) -> None:
    if not staged:
        raise UserError("no file was uploaded")
    lost = [s.path for s in staged if not ctx.blobstore.exists(s.blob.sha256)]
    if lost:
        raise ConflictError(f"{lost[0]!r} is no longer in the store; upload again")


def cancel_batch(ctx: ServiceContext, staging: UploadStaging, batch: UploadBatch) -> None:
    """Abandon a batch and discard the blobs it staged."""
    if staging.claim(batch.id):
        _discard(ctx, staging, batch.id)


def sweep_expired(ctx: ServiceContext, staging: UploadStaging, now: float) -> int:
    """Discard batches past their expiry; returns how many this call cleaned."""
    cleaned = 0
    for batch_id in staging.expired(now):
        if staging.claim(batch_id):
            _discard(ctx, staging, batch_id)
            cleaned += 1
    return cleaned


def _discard(ctx: ServiceContext, staging: UploadStaging, batch_id: str) -> None:
    staged = staging.files(batch_id)
    staging.forget(batch_id)
    ingest.discard_staged(ctx, staged)
