"""Prepare a committed version for viewing: canonical HDF5 pyramid, thumbnail, previews.

Runs in a worker. The version's files are read through their blobs (linked under their
original names in a scratch folder, so header + raw pairs find each other); the results
are stored as blobs and recorded with an audit event in one transaction. A failure is
recorded with a clear message and leaves no derivative behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from lims.errors import UserError
from lims.formats.registry import group_files, open_image
from lims.imaging.thumbnails import mip, thumbnail_png
from lims.models import Blob, DatasetVersion, VersionDerivative, VersionPreparation
from lims.storage.arrays import CanonicalArray, write_canonical
from lims.storage.blobstore import BlobStore
from processing.context import JobResources

_log = logging.getLogger(__name__)
AXES: tuple[tuple[str, Literal["z", "y", "x"]], ...] = (
    ("ortho_z", "z"),
    ("ortho_y", "y"),
    ("ortho_x", "x"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Derived:
    """One stored derivative, before it is recorded."""

    kind: str
    sha256: str
    size_bytes: int
    media_type: str
    array_digest: str | None
    attributes: dict[str, Any]


def prepare(res: JobResources, version_id: uuid.UUID) -> str:
    """Prepare one version; returns the final state (``ready``, ``failed``, ...)."""
    if not _claim(res, version_id):
        return "skipped"
    actor = Actor.system(f"worker@{res.hostname}")
    try:
        with _linked_files(res, version_id) as files:
            groups = group_files(files)
            if not groups:
                return _finish(
                    res,
                    version_id,
                    state="not_an_image",
                    actor=actor,
                    message="no file of this version is a recognised image format",
                )
            biggest = max(groups, key=lambda g: sum(p.stat().st_size for p in g))
            derived = _build(res.blobstore, biggest)
    except UserError as exc:
        return _finish(res, version_id, state="failed", message=str(exc), actor=actor)
    except Exception as exc:
        _log.exception("preparing version %s failed", version_id)
        internal = f"internal error: {type(exc).__name__}"
        _finish(res, version_id, state="failed", message=internal, actor=actor)
        raise
    return _finish(res, version_id, state="ready", message="", actor=actor, derived=derived)


def _claim(res: JobResources, version_id: uuid.UUID) -> bool:
    with res.unit_of_work() as uow:
        state = uow.session.scalars(
            select(VersionPreparation)
            .where(VersionPreparation.version_id == version_id)
            .with_for_update(skip_locked=True)
        ).first()
        if state is None or state.state not in {"queued", "failed"}:
            return False
        state.state, state.worker = "running", res.hostname
        state.updated_at = _now(uow.session)
        uow.commit()
    return True


@contextlib.contextmanager
def _linked_files(res: JobResources, version_id: uuid.UUID) -> Iterator[list[Path]]:
    with res.unit_of_work() as uow:
        version = uow.session.get(DatasetVersion, version_id)
        entries = [(f.path, f.blob_sha256) for f in version.files] if version else []
    scratch = Path(tempfile.mkdtemp(prefix="ctvault-prepare-"))
    try:
        links = []
        for relative, sha256 in entries:
            link = scratch / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(res.blobstore.path(sha256))
            links.append(link)
        yield links
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build(store: BlobStore, files: list[Path]) -> list[Derived]:
    source = open_image(files)
    scratch = Path(tempfile.mkdtemp(prefix="ctvault-canonical-"))
    try:
        target = scratch / "canonical.h5"
        info = write_canonical(source, target)
        canonical = store.put_file(target)
        derived = [
            Derived(
                "canonical",
                canonical.sha256,
                canonical.size_bytes,
                "application/x-hdf5",
                info.digest,
                _attributes(info),
            )
        ]
        with CanonicalArray(target) as array:
            is_volume = len(info.shape) == 3  # noqa: PLR2004
            derived.extend(_previews(store, array, is_volume=is_volume))
            if is_volume:
                derived.append(_mip(store, array))
        return derived
    finally:
        source.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _attributes(info: Any) -> dict[str, Any]:  # noqa: ANN401 - CanonicalInfo
    return {
        "shape": list(info.shape),
        "dtype": str(info.dtype),
        "levels": info.levels,
        "min": float(info.min),
        "max": float(info.max),
        "voxel_size": list(info.voxel_size) if info.voxel_size else None,
        "unit": info.unit,
        "kind": info.kind,
    }


def _previews(store: BlobStore, array: CanonicalArray, *, is_volume: bool) -> list[Derived]:
    shape = array.shape(0)
    planes: list[tuple[str, Literal["z", "y", "x"], int]] = [
        ("thumbnail", "z", shape[0] // 2 if is_volume else 0)
    ]
    if is_volume:
        planes += [(kind, axis, shape["zyx".index(axis)] // 2) for kind, axis in AXES]
    previews = []
    for kind, axis, index in planes:
        level = _preview_level(array)
        png = thumbnail_png(
            array.plane(axis, index, level) if is_volume else array.plane("z", 0, level)
        )
        stored = store.put_stream(
            io.BytesIO(png), expected_size=len(png), source_name=f"{kind}.png"
        )
        previews.append(
            Derived(
                kind,
                stored.sha256,
                stored.size_bytes,
                "image/png",
                None,
                {"axis": axis, "index": index},
            )
        )
    return previews


def _mip(store: BlobStore, array: CanonicalArray) -> Derived:
    level = _preview_level(array)
    png = thumbnail_png(mip(array.iter_slabs(level), "z"))
    stored = store.put_stream(io.BytesIO(png), expected_size=len(png), source_name="mip.png")
    return Derived(
        "mip", stored.sha256, stored.size_bytes, "image/png", None, {"axis": "z", "level": level}
    )


def _preview_level(array: CanonicalArray) -> int:
    for level in range(array.levels):
        if max(array.shape(level)[-2:]) <= 1024:  # noqa: PLR2004 - a screenful is enough
            return level
    return array.levels - 1


def _finish(
    res: JobResources,
    version_id: uuid.UUID,
    *,
    state: str,
    message: str,
    actor: Actor,
    derived: list[Derived] | None = None,
) -> str:
    with res.unit_of_work() as uow:
        session = uow.session
        for item in derived or []:
            session.execute(
                insert(Blob)
                .values(sha256=item.sha256, size_bytes=item.size_bytes)
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
            session.add(
                VersionDerivative(
                    version_id=version_id,
                    kind=item.kind,
                    blob_sha256=item.sha256,
                    media_type=item.media_type,
                    array_digest=item.array_digest,
                    attributes=item.attributes,
                )
            )
        preparation = session.get(VersionPreparation, version_id)
        if preparation is not None:
            preparation.state, preparation.message = state, message[:2000]
            preparation.updated_at = _now(session)
        record(
            session,
            actor,
            EventDraft(
                f"version.prepare_{state}",
                "dataset_version",
                str(version_id),
                {
                    "state": [None, state],
                    **({"message": message} if message else {}),
                    **({"canonical_array_digest": derived[0].array_digest} if derived else {}),
                },
            ),
        )
        uow.commit()
    return state


def _now(session: Session) -> dt.datetime:
    moment: dt.datetime = session.execute(select(func.now())).scalar_one()
    return moment
