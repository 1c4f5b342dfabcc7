"""Run fixtures: an in-process RQ SimpleWorker on the rolled-back connection, prepared inputs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from lims.models import DatasetVersion, Project
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import make_sample

ADMIN_PASSWORD = "first admin password"

OTSU_LABEL_PARTICLES = [
    {"name": "segment.otsu", "version": 1, "parameters": {}},
    {"name": "segment.label", "version": 1, "parameters": {"connectivity": 1}},
    {"name": "measure.particles", "version": 1, "parameters": {"min_voxels": 1}},
]


def two_spheres(shape: tuple[int, int, int] = (32, 48, 64), seed: int = 3) -> np.ndarray:
    """A uint16 volume: noisy background and two bright balls that do not touch."""
    rng = np.random.default_rng(seed)
    volume = rng.integers(80, 120, size=shape, dtype=np.uint16)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    for cz, cy, cx, r in ((12, 16, 16, 7), (18, 30, 44, 9)):
        ball = (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= r * r
        volume[ball] = rng.integers(900, 1100, size=int(ball.sum()), dtype=np.uint16)
    return volume


@pytest.fixture(scope="session")
def redis_url(redis_url: str, worker_id: str) -> str:
    """A Redis database index of these tests' own (11-13 by xdist worker).

    Other suites running at the same time on the same server flush indices 0-3 between
    their tests, which would drop this suite's queued jobs and login sessions mid-test.
    """
    if not redis_url.startswith("redis://") or redis_url.rsplit("/", 1)[1] == "":
        return redis_url
    index = 11 if worker_id == "master" else 11 + int(worker_id.removeprefix("gw")) % 3
    return redis_url.rsplit("/", 1)[0] + f"/{index}"


def set_gxp(ctx: ServiceContext, project: str, *, is_gxp: bool) -> None:
    row = ctx.uow.session.scalars(select(Project).where(Project.name == project)).one()
    row.is_gxp = is_gxp
    ctx.uow.commit()


@pytest.fixture
def ingest_volume(
    ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path
) -> Callable[..., DatasetVersion]:
    """Ingest an array as a TIFF stack (or one 2D TIFF) and let the worker prepare it."""
    made: set[tuple[str, str]] = set()

    def ingest(
        array: np.ndarray,
        *,
        project: str = "Research",
        sample: str = "Cell 7",
        name: str = "scan",
        is_gxp: bool = False,
        prepare: bool = True,
    ) -> DatasetVersion:
        if (project, sample) not in made:
            make_sample(ctx, project, sample)
            set_gxp(ctx, project, is_gxp=is_gxp)
            made.add((project, sample))
        folder = tmp_path / f"{project}-{name}-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        if array.ndim == 3:
            for z, plane in enumerate(array):
                tifffile.imwrite(folder / f"slice_{z:04d}.tif", plane)
        else:
            tifffile.imwrite(folder / "image.tif", array)
        version = ingest_path(ctx, IngestTarget(project, sample, name), folder, reason="acquired")
        if prepare:
            worker.work(burst=True)
            ctx.uow.session.expire_all()
        return version

    return ingest


@pytest.fixture
def cli_env(
    fresh_database_url: str, redis_url: str, tmp_path: Path, worker_id: str
) -> dict[str, str]:
    """The environment of ``ctvault`` processes on a fresh database and a clean Redis index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    if redis_url.startswith("redis://"):
        # A database index of its own (14-15 by xdist worker): other suites flush theirs
        # between tests, which would drop the jobs these separate processes hand each other.
        index = 14 + (0 if worker_id == "master" else int(worker_id.removeprefix("gw")) % 2)
        redis_url = redis_url.rsplit("/", 1)[0] + f"/{index}"
    Redis.from_url(redis_url).flushdb()
    env.update(
        DATABASE_URL=fresh_database_url,
        REDIS_URL=redis_url,
        CTVAULT_DATA_DIR=str(tmp_path / "data"),
        CTVAULT_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env
