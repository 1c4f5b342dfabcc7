"""Fixity: re-hash every stored blob and report missing or altered ones with their versions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import select

from lims.db.uow import UnitOfWork
from lims.models import Blob, Dataset, DatasetVersion, VersionFile
from lims.storage.blobstore import BlobStore, hash_file


@dataclasses.dataclass(frozen=True, slots=True)
class BlobProblem:
    """One blob that does not match the database, and the versions that use it."""

    sha256: str
    problem: str
    versions: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class FixityReport:
    """The outcome of a fixity check."""

    checked: int
    checked_bytes: int
    problems: tuple[BlobProblem, ...]

    @property
    def is_ok(self) -> bool:
        """True when every blob is present and matches its digest."""
        return not self.problems


def blob_total_bytes(uow: UnitOfWork) -> int:
    """Bytes the database says the store holds (for progress bars)."""
    return sum(uow.session.scalars(select(Blob.size_bytes)))


def verify_blobs(
    uow: UnitOfWork, store: BlobStore, progress: Callable[[int], None] | None = None
) -> FixityReport:
    """Re-hash every blob the database knows; report missing, resized or altered ones."""
    problems = []
    checked = checked_bytes = 0
    for blob in uow.session.scalars(select(Blob).order_by(Blob.sha256)):
        path = store.path(blob.sha256)
        checked += 1
        if not path.is_file():
            problems.append(BlobProblem(blob.sha256, "missing", _versions_of(uow, blob.sha256)))
            continue
        size = path.stat().st_size
        actual = hash_file(path, progress)
        checked_bytes += size
        if actual != blob.sha256:
            problem = f"altered: content hashes to {actual}"
            if size != blob.size_bytes:
                problem += f" and is {size} bytes, not {blob.size_bytes}"
            problems.append(BlobProblem(blob.sha256, problem, _versions_of(uow, blob.sha256)))
    return FixityReport(checked, checked_bytes, tuple(problems))


def _versions_of(uow: UnitOfWork, sha256: str) -> tuple[str, ...]:
    rows = uow.session.execute(
        select(Dataset.name, DatasetVersion.number, DatasetVersion.id, VersionFile.path)
        .join(DatasetVersion, VersionFile.version_id == DatasetVersion.id)
        .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
        .where(VersionFile.blob_sha256 == sha256)
        .order_by(Dataset.name, DatasetVersion.number)
    )
    return tuple(
        f"{name} v{number} ({version_id}) {path}" for name, number, version_id, path in rows
    )
