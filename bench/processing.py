"""Processing benchmark: Otsu -> label -> particles through ctvault vs plain scikit-image.

Usage: .venv/bin/python bench/processing.py [--size 512] [--server-url URL] [--redis-url URL]
       [--latency-jobs 200] [--label-version 2] [--rounds 2]

Plain and ctvault runs alternate (``--rounds`` of each); the best of each is compared.

ctvault path (timed): submit (authorize, record, audit, enqueue) -> a real RQ worker in this
process (``SimpleWorker``) claims the run, verifies the input by array digest, runs the three
steps, writes the label output as a canonical HDF5 version with previews, the CSV table and
the result row in one transaction. The plain path runs the same scikit-image calls on the
same in-memory array (Otsu on the histogram, threshold, ``measure.label``, per-particle
Gaussian + marching cubes) with no database, no digest and no storage. Then the
enqueue-to-start latency of an empty job on a ``ctvault worker`` subprocess.

Creates a scratch database on the server (default: the local PostgreSQL) and a scratch data
folder, and drops both.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/audit.py would shadow the `audit` package: keep this folder off the path, and put
# the repository root on it (for tests.factories).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg2
import tifffile
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from scipy import ndimage as ndi
from skimage import filters, measure
from sqlalchemy import select

from lims.auth.roles import Role
from lims.db.migrate import upgrade
from lims.models import Project
from lims.runtime.resources import Resources, build_resources
from lims.services import runs, workflows
from lims.services.ingest import IngestTarget, ingest_path
from lims.settings import Settings
from processing import context
from tests.factories import make_sample, make_user


def steps(label_version: int) -> list[dict[str, object]]:
    """Otsu -> label (v1: int32 labels; v2: the smallest unsigned type) -> particles."""
    return [
        {"name": "segment.otsu", "version": 1, "parameters": {}},
        {"name": "segment.label", "version": label_version, "parameters": {"connectivity": 1}},
        {"name": "measure.particles", "version": 1, "parameters": {"min_voxels": 1}},
    ]


def phantom(size: int, seed: int = 11) -> np.ndarray:
    """uint16 Gaussian noise (1000 ± 30) with non-touching bright balls (3000 ± 30).

    300 balls of radius 6-14 voxels at 512³; fewer and smaller for smaller volumes.
    """
    rng = np.random.default_rng(seed)
    volume = rng.normal(1000, 30, size=(size,) * 3).astype(np.uint16)
    scale = size / 512
    wanted = max(20, int(300 * scale**3))
    centres: list[tuple[np.ndarray, float]] = []
    while len(centres) < wanted:
        r = float(rng.uniform(6, 14) * max(scale, 0.4))
        c = rng.uniform(r + 2, size - r - 2, 3)
        if all(np.linalg.norm(c - o) > r + q + 3 for o, q in centres):
            centres.append((c, r))
    for c, r in centres:
        lo = np.maximum(np.floor(c - r).astype(int), 0)
        hi = np.minimum(np.ceil(c + r).astype(int) + 1, size)
        z, y, x = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        ball = (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r
        region = volume[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        region[ball] = rng.normal(3000, 30, size=int(ball.sum())).astype(np.uint16)
    return volume


def plain(volume: np.ndarray) -> tuple[float, int]:
    """The same scikit-image work without ctvault: seconds, particles found."""
    started = time.perf_counter()
    counts, edges = np.histogram(volume, bins=256, range=(float(volume.min()), float(volume.max())))
    centers = (edges[:-1] + edges[1:]) / 2
    threshold = filters.threshold_otsu(hist=(counts, centers))
    mask = (volume > threshold).astype(np.uint8)
    labels = measure.label(mask, connectivity=1)
    found = 0
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        crop = np.pad(labels[box] == index, 4).astype(np.float64)
        smooth = filters.gaussian(crop, sigma=0.7, mode="constant", cval=0.0, truncate=4.0)
        verts, faces, _, _ = measure.marching_cubes(smooth, 0.5)
        measure.mesh_surface_area(verts, faces)
        found += 1
    return time.perf_counter() - started, found


class ThroughCtvault:
    """One ingested, prepared phantom and a worker; each ``run`` is timed end to end."""

    def __init__(
        self, resources: Resources, volume: np.ndarray, scratch: Path, label_version: int
    ) -> None:
        uow = resources.unit_of_work()
        identity = make_user(uow, "bench", roles={Role.MICROSCOPIST})
        self.ctx = resources.service_context(uow, identity)
        make_sample(self.ctx, "Bench", "Phantom")
        # Research mode: particles v1 (and label v2) are draft steps.
        self.ctx.uow.session.scalars(select(Project)).one().is_gxp = False
        self.ctx.uow.commit()
        folder = scratch / "stack"
        folder.mkdir()
        for z, plane in enumerate(volume):
            tifffile.imwrite(folder / f"z{z:04d}.tif", plane)
        target = IngestTarget("Bench", "Phantom", "phantom")
        self.version = ingest_path(self.ctx, target, folder, reason="bench")
        queues = [
            Queue(n, connection=resources.redis, serializer=JSONSerializer)
            for n in ("default", "heavy")
        ]
        self.worker = SimpleWorker(queues, connection=resources.redis, serializer=JSONSerializer)
        self.worker.work(burst=True)  # prepare the input (not timed)
        self.workflow = workflows.create_workflow(
            self.ctx, name="bench particles", steps=steps(label_version)
        )
        self.ctx.uow.commit()

    def run(self) -> tuple[float, float, int]:
        """Submit -> worker -> committed record; total seconds, worker seconds, table rows."""
        started = time.perf_counter()
        run = runs.submit(self.ctx, self.workflow.id, self.version.id, reason="benchmark round")
        self.ctx.uow.commit()
        worker_started = time.perf_counter()
        self.worker.work(burst=True)
        ended = time.perf_counter()
        self.ctx.uow.session.expire_all()
        view = runs.get_run(self.ctx, run.id)
        if view.state.status != "succeeded":
            error = view.result.error if view.result else view.state.message
            raise SystemExit(f"run failed: {error}")
        rows = len(view.result.tables["particles"]["rows"]) if view.result else 0
        print("run log:\n" + (view.result.log if view.result else ""))
        return ended - started, ended - worker_started, rows

    def close(self) -> None:
        """Release the session."""
        self.ctx.uow.close()


def latency(settings: Settings, redis: Redis, jobs: int) -> list[float]:
    """Enqueue-to-start of an empty job on a `ctvault worker` subprocess, in ms."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "CTVAULT_DATA_DIR": str(settings.data_dir),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "lims.cli", "worker", "--queue", "default"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    queue = Queue("default", connection=redis, serializer=JSONSerializer)
    try:
        time.sleep(3)
        waits = []
        for _ in range(jobs):
            job = queue.enqueue("builtins.abs", -1, result_ttl=60)
            while True:
                fresh = Job.fetch(job.id, connection=redis, serializer=JSONSerializer)
                if fresh.started_at is not None:
                    break
                time.sleep(0.002)
            waits.append((fresh.started_at - fresh.enqueued_at).total_seconds() * 1000)
            time.sleep(0.02)
        return waits
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="edge of the cubic volume")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--label-version", type=int, default=2, choices=(1, 2))
    parser.add_argument("--rounds", type=int, default=2, help="alternating plain/ctvault runs")
    args = parser.parse_args()
    name = f"ctvault_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(args.server_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = args.server_url.rsplit("/", 1)[0] + f"/{name}"
    scratch = Path(tempfile.mkdtemp(prefix="ctvault-bench-"))
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    try:
        upgrade(url)
        settings = Settings(
            data_dir=scratch / "data",
            database_url=url,
            redis_url=args.redis_url,
            db_role="ctvault_app",
            secret_key="bench",  # noqa: S106 - a throwaway database
        )
        resources = build_resources(settings)
        context.set_resources(
            context.JobResources(
                settings=settings,
                session_factory=resources.session_factory,
                redis=resources.redis,
                blobstore=resources.blobstore,
                clock=resources.clock,
                hostname=socket.gethostname(),
            )
        )
        volume = phantom(args.size)
        bench = ThroughCtvault(resources, volume, scratch, args.label_version)
        plain_times, ctvault_times = [], []
        for _ in range(args.rounds):
            plain_s, plain_found = plain(volume)
            plain_times.append(plain_s)
            total_s, _, rows = bench.run()
            ctvault_times.append(total_s)
        bench.close()
        baseline, best = min(plain_times), min(ctvault_times)
        waits = latency(settings, redis, args.latency_jobs)
        resources.close()
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}"
        )
        print(f"volume {args.size}^3 uint16, particles: plain {plain_found}, ctvault {rows}")
        print(f"workflow: otsu v1 -> label v{args.label_version} -> particles v1")
        print("plain scikit-image: " + ", ".join(f"{t:.2f} s" for t in plain_times))
        print("ctvault submit -> record: " + ", ".join(f"{t:.2f} s" for t in ctvault_times))
        print(
            f"ratio ctvault / plain (best of {args.rounds} each): {best / baseline:.2f}x "
            "(target <= 1.25x)"
        )
        waits.sort()
        print(
            f"enqueue -> start, {len(waits)} empty jobs: p50 {statistics.median(waits):.1f} ms, "
            f"p90 {waits[int(len(waits) * 0.9)]:.1f} ms, max {waits[-1]:.1f} ms "
            "(target p50 < 100 ms)"
        )
    finally:
        context.clear_resources()
        redis.flushdb()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
