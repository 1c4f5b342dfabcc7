"""After an ingest a real RQ worker builds the canonical array and previews of the version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from rq import SimpleWorker
from sqlalchemy import select

from audit import AuditEvent
from lims.models import DatasetVersion
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from lims.services.preparation import derivatives_of, preparation_of
from lims.storage.arrays import CanonicalArray, array_digest
from tests.factories import make_sample

TARGET = IngestTarget("Battery", "Cell 7", "scan")


def _stack(folder: Path, volume: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    for z, plane in enumerate(volume):
        tifffile.imwrite(folder / f"slice_{z:04d}.tif", plane)
    (folder / "scan.log").write_text("voltage=80kV\n")
    return folder


@pytest.mark.req("AL-04", "AL-02")
def test_ingested_volume_is_prepared_by_a_worker(
    ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path
) -> None:
    make_sample(ctx)
    volume = np.random.default_rng(7).integers(0, 4000, size=(20, 300, 280), dtype=np.uint16)
    version = ingest_path(ctx, TARGET, _stack(tmp_path / "scan", volume), reason="acquired")
    assert preparation_of(ctx, version.id).state == "queued"

    worker.work(burst=True)

    ctx.uow.session.expire_all()
    preparation = preparation_of(ctx, version.id)
    assert (preparation.state, preparation.message) == ("ready", "")
    derived = derivatives_of(ctx, version.id)
    assert set(derived) == {"canonical", "thumbnail", "ortho_z", "ortho_y", "ortho_x", "mip"}
    mip_png = ctx.blobstore.path(derived["mip"].blob_sha256).read_bytes()
    assert mip_png.startswith(b"\x89PNG")
    canonical = derived["canonical"]
    assert canonical.array_digest == array_digest(volume)
    with CanonicalArray(ctx.blobstore.path(canonical.blob_sha256)) as array:
        assert np.array_equal(array.plane("y", 150, 0), volume[:, 150, :])
    assert ctx.blobstore.path(derived["thumbnail"].blob_sha256).read_bytes()[:8] == (
        b"\x89PNG\r\n\x1a\n"
    )
    actions = list(
        ctx.uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(version.id))
        )
    )
    assert actions[-1] == "version.prepare_ready"


@pytest.mark.req("A11-04")
def test_a_corrupt_image_fails_clearly_and_leaves_no_derivative(
    ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path
) -> None:
    make_sample(ctx)
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, np.zeros((64, 64), dtype=np.uint8))
    broken = tmp_path / "scan" / "mosaic.tif"
    broken.parent.mkdir()
    broken.write_bytes(good.read_bytes()[:200])
    version = ingest_path(ctx, TARGET, broken.parent, reason="acquired")
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    preparation = preparation_of(ctx, version.id)
    assert preparation.state == "failed"
    assert "mosaic.tif" in preparation.message
    assert derivatives_of(ctx, version.id) == {}
    assert ctx.uow.session.get(DatasetVersion, version.id) is not None, "the version stays"


def test_files_that_are_not_images_are_marked_so(
    ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path
) -> None:
    make_sample(ctx)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "protocol.txt").write_text("not an image")
    version = ingest_path(ctx, TARGET, tmp_path / "notes", reason="protocol")
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    assert preparation_of(ctx, version.id).state == "not_an_image"
