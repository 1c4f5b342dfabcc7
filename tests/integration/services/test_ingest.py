"""Ingest: bytes stored once, versions committed atomically, bad input changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit import AuditEvent
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import Blob, Dataset, DatasetVersion, VersionFile
from lims.services.catalogue import create_project
from lims.services.context import ServiceContext
from lims.services.ingest import (
    IngestTarget,
    commit_ingest,
    ingest_path,
    stage_files,
    stage_stream,
)
from lims.storage.errors import SourceReadError
from tests.factories import as_project_admin, make_sample, write_volume

TARGET = IngestTarget(project="Battery", sample="Cell 7", dataset="scan-001")


def _count(ctx: ServiceContext, model: type) -> int:
    return ctx.uow.session.scalar(select(func.count()).select_from(model)) or 0


def _store_files(ctx: ServiceContext) -> list[Path]:
    return sorted(p for p in (ctx.blobstore.root / "blobs").rglob("*") if p.is_file())


@pytest.mark.req("A11-06", "AL-04")
def test_ingest_folder_creates_one_version_with_checksummed_files(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    src = tmp_path / "scan"
    write_volume(src / "slices" / "a.raw", seed=1)
    write_volume(src / "slices" / "b.raw", seed=2)
    (src / "scan.log").write_text("kV=80\n")

    version = ingest_path(ctx, TARGET, src, reason="acquired on Zeiss Versa")

    assert version.number == 1
    assert version.parent_id is None
    assert [f.path for f in version.files] == ["scan.log", "slices/a.raw", "slices/b.raw"]
    for entry in version.files:
        stored = ctx.blobstore.path(entry.blob_sha256)
        assert stored.read_bytes() == (src / entry.path).read_bytes()
        assert not stored.stat().st_mode & 0o222, "blobs are read-only"
    actions = list(ctx.uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-2:] == ["dataset.create", "version.create"]


@pytest.mark.req("P11-09")
def test_same_bytes_are_stored_once_and_new_version_links_parent(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    src = write_volume(tmp_path / "vol.raw", seed=3)
    first = ingest_path(ctx, TARGET, src, reason="first")
    second = ingest_path(ctx, TARGET, src, reason="re-ingest after header fix")
    assert second.number == 2
    assert second.parent_id == first.id
    assert second.reason == "re-ingest after header fix"
    assert len(_store_files(ctx)) == 1
    assert _count(ctx, Blob) == 1
    assert first.manifest_sha256 == second.manifest_sha256 or first.metadata_ != second.metadata_


@pytest.mark.req("A11-06")
def test_ingest_into_missing_project_or_sample_is_refused_before_reading(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    src = write_volume(tmp_path / "vol.raw")
    with pytest.raises(NotFoundError, match="no project named 'Nope'"):
        ingest_path(ctx, IngestTarget("Nope", "Cell 7", "x"), src, reason="r")
    with pytest.raises(NotFoundError, match="has no sample named 'Cell 99'"):
        ingest_path(ctx, IngestTarget("Battery", "Cell 99", "x"), src, reason="r")
    assert _store_files(ctx) == []
    assert _count(ctx, DatasetVersion) == 0


def test_missing_path_and_empty_folder_are_refused(ctx: ServiceContext, tmp_path: Path) -> None:
    make_sample(ctx)
    with pytest.raises(SourceReadError, match="no such file or folder"):
        ingest_path(ctx, TARGET, tmp_path / "absent", reason="r")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceReadError, match="holds no files"):
        ingest_path(ctx, TARGET, tmp_path / "empty", reason="r")
    assert _count(ctx, Dataset) == 0


def test_broken_link_in_folder_is_refused_before_storing(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    src = tmp_path / "scan"
    write_volume(src / "a.raw", seed=1)
    (src / "b.raw").symlink_to(tmp_path / "gone.raw")
    with pytest.raises(SourceReadError, match=r"b\.raw: not a regular file"):
        ingest_path(ctx, TARGET, src, reason="r")
    assert _store_files(ctx) == []


@pytest.mark.req("A11-06")
def test_file_vanishing_mid_ingest_fails_whole_ingest_and_removes_new_blobs(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    make_sample(ctx)
    src = tmp_path / "scan"
    files = [(f"{i}.raw", write_volume(src / f"{i}.raw", seed=i)) for i in range(6)]
    files[4][1].unlink()
    with pytest.raises(SourceReadError, match=r"4\.raw: no such file"):
        stage_files(ctx, files)
    assert _store_files(ctx) == []
    assert list((ctx.blobstore.root / "tmp").iterdir()) == []


def test_file_changing_size_while_read_is_refused(ctx: ServiceContext, tmp_path: Path) -> None:
    make_sample(ctx)

    class Growing(io.BytesIO):
        pass

    with pytest.raises(SourceReadError, match="changed while being read"):
        stage_stream(ctx, "a.raw", Growing(b"x" * 100), expected_size=50)
    assert _store_files(ctx) == []


@pytest.mark.req("A11-06")
def test_cut_off_upload_leaves_nothing(ctx: ServiceContext) -> None:
    make_sample(ctx)
    with pytest.raises(SourceReadError, match="expected 1000 bytes but read 10"):
        stage_stream(ctx, "upload.tif", io.BytesIO(b"0123456789"), expected_size=1000)
    assert _store_files(ctx) == []


def test_reason_is_required_and_duplicate_paths_refused(ctx: ServiceContext) -> None:
    make_sample(ctx)
    staged = stage_stream(ctx, "a.tif", io.BytesIO(b"abc"), expected_size=3)
    with pytest.raises(UserError, match="needs a reason"):
        commit_ingest(ctx, TARGET, [staged], reason="  ")
    with pytest.raises(UserError, match="share the path"):
        commit_ingest(ctx, TARGET, [staged, staged], reason="r")


def test_duplicate_project_name_is_refused(ctx: ServiceContext) -> None:
    create_project(as_project_admin(ctx), name="Battery")
    ctx.uow.commit()
    with pytest.raises(ConflictError, match="already exists"):
        create_project(as_project_admin(ctx), name="battery")


def test_path_escaping_the_dataset_is_refused(ctx: ServiceContext) -> None:
    make_sample(ctx)
    with pytest.raises(UserError, match="must be relative"):
        stage_stream(ctx, "../etc/passwd", io.BytesIO(b"x"), expected_size=1)
    assert _count(ctx, VersionFile) == 0
