"""Benchmark: canonical HDF5 pyramids (mosaic and volume) and orthoslice reads.

Usage::

    .venv/bin/python bench/pyramid.py [--dir /work] [--mosaic 32000x27000]
        [--volume-slices 512] [--ortho-size 1024] [--skip mosaic,volume,ortho]

* mosaic: a synthetic uint8 mosaic written as an uncompressed tiled BigTIFF (256² tiles,
  streamed tile by tile) is opened by ctvault's TIFF reader (``open_image``, as at ingest)
  and turned into a canonical array by ``write_canonical`` in a child process; wall time
  and the child's peak RSS (``ru_maxrss``) are reported, and ``vips tiffsave IN OUT --tile
  --pyramid --compression jpeg`` on the same file in the same run (if vips is installed),
  in alternating rounds, each run starting with its output deleted and the disk synced.
* volume: a 1024 x 1024 x N uint16 TIFF stack (one file per slice) to a canonical array, in
  a child process: wall time and peak RSS (memory does not grow with N).
* ortho: XY, XZ and YZ planes of an S³ uint16 canonical array at level 0 and level 1, warm
  (file in the page cache, each read in a chunk layer not read before) and cold (file
  evicted with ``POSIX_FADV_DONTNEED``, new handle), against the XY plane of a raw C-order
  memmap of the same volume.

Everything is created in a temporary folder under ``--dir`` and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lims.formats.base import ImageInfo
from lims.formats.registry import open_image
from lims.storage.arrays import CanonicalArray, write_canonical

TILE = 256
ROUNDS = 3
MB = 1_000_000


# ----------------------------------------------------------------- sources (bench only)


class StackSource:
    def __init__(self, files: list[Path]) -> None:
        self.files = files
        first = tifffile.imread(files[0])
        self.info = ImageInfo(
            (len(files), *first.shape), first.dtype, None, "um", "tiff-stack", {}, is_volume=True
        )

    def iter_slabs(self, depth: int) -> Iterator[np.ndarray]:
        for z in range(0, len(self.files), depth):
            names = self.files[z : z + depth]
            slab = np.empty((len(names), *self.info.shape[1:]), self.info.dtype)
            for i, name in enumerate(names):
                slab[i] = tifffile.imread(name)
            yield slab

    def close(self) -> None:
        pass


class SyntheticVolume:
    def __init__(self, size: int) -> None:
        self.size = size
        self.info = ImageInfo(
            (size,) * 3, np.dtype("<u2"), None, "um", "synthetic", {}, is_volume=True
        )

    def iter_slabs(self, depth: int) -> Iterator[np.ndarray]:
        for z in range(0, self.size, depth):
            yield _volume_slab(z, min(depth, self.size - z), self.size)

    def close(self) -> None:
        pass


def _volume_slab(z: int, depth: int, size: int) -> np.ndarray:
    """CT-like data: a noisy sphere of material in air (uint16), slab by slab."""
    rng = np.random.default_rng(z)
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - size / 2
    slab = np.empty((depth, size, size), np.uint16)
    for i in range(depth):
        zz = z + i - size / 2
        inside = (xx * xx + yy * yy + zz * zz) < (0.4 * size) ** 2
        plane = np.where(inside, 30000, 2000).astype(np.float32)
        plane += rng.normal(0, 400, (size, size)).astype(np.float32)
        slab[i] = np.clip(plane, 0, 65535)
    return slab


# ----------------------------------------------------------------- data creation


def make_mosaic(path: Path, height: int, width: int, compression: str | None = None) -> None:
    """Tiled BigTIFF (uncompressed by default), written tile by tile from a generator."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (8, TILE, TILE), dtype=np.uint8)
    yy, xx = np.mgrid[:TILE, :TILE]

    def tiles() -> Iterator[np.ndarray]:
        for ty in range(-(-height // TILE)):
            for tx in range(-(-width // TILE)):
                base = ((yy + ty * TILE) // 64 + (xx + tx * TILE) // 64) % 2 * 120 + 40
                yield (base + noise[(ty * 7 + tx) % 8]).astype(np.uint8)

    tifffile.imwrite(
        path,
        tiles(),
        shape=(height, width),
        dtype=np.uint8,
        tile=(TILE, TILE),
        bigtiff=True,
        compression=compression,
    )


def make_stack(folder: Path, slices: int, size: int = 1024) -> list[Path]:
    folder.mkdir()
    files = []
    for z in range(0, slices, 64):
        slab = _volume_slab(z, min(64, slices - z), size)
        for i, plane in enumerate(slab):
            name = folder / f"slice_{z + i:05d}.tif"
            tifffile.imwrite(name, plane)
            files.append(name)
    return files


# ----------------------------------------------------------------- child runs


def _child(kind: str, source: str, target: str) -> None:
    """Build one canonical array; print wall time and own peak RSS as JSON."""
    if kind == "mosaic":
        image: Any = open_image([Path(source)])
    elif kind == "stack":
        image = StackSource(sorted(Path(source).glob("*.tif")))
    else:
        image = SyntheticVolume(int(source))
    start = time.perf_counter()
    info = write_canonical(image, Path(target))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"s": seconds, "peak": peak, "levels": info.levels}))


def run_child(kind: str, source: Path | int, target: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source), str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run_measured(command: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of a command, via GNU time."""
    start = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(out.stderr.strip().splitlines()[-1]) * 1024


def fresh_output(path: Path) -> None:
    """Delete ``path`` and write back every dirty page, so a run starts on a quiet disk."""
    path.unlink(missing_ok=True)
    os.sync()


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ----------------------------------------------------------------- cases


def bench_mosaic(work: Path, height: int, width: int, compression: str | None) -> None:
    tiff = work / "mosaic.tif"
    start = time.perf_counter()
    make_mosaic(tiff, height, width, compression)
    print(
        f"\n## mosaic {height} x {width} uint8 ({height * width / MB:.0f} MB), "
        f"tiled BigTIFF ({compression or 'uncompressed'}) written in "
        f"{time.perf_counter() - start:.1f} s"
    )
    ours, vips = work / "mosaic.h5", work / "vips.tif"
    has_vips = shutil.which("vips") is not None
    rows = []
    # Alternate rounds; each run starts with its output deleted and nothing left to write
    # back, as ext4 flushes at once a file written over an existing one.
    for _ in range(ROUNDS):
        fresh_output(ours)
        result = run_child("mosaic", tiff, ours)
        rows.append(
            ("write_canonical (HDF5 Blosc-LZ4 + mean pyramid)", result["s"], result["peak"])
        )
        if has_vips:
            fresh_output(vips)
            vips_command = ["vips", "tiffsave", str(tiff), str(vips), "--tile", "--pyramid"]
            seconds, peak = run_measured([*vips_command, "--compression", "jpeg"])
            rows.append(("vips tiffsave --tile --pyramid --compression jpeg", seconds, peak))
    print(f"canonical: {result['levels']} levels, {ours.stat().st_size / MB:.0f} MB")
    if has_vips:
        print(f"vips output: {vips.stat().st_size / MB:.0f} MB")
        ratios = [a[1] / b[1] for a, b in zip(rows[0::2], rows[1::2], strict=True)]
        print("write_canonical / vips per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    else:
        print("vips not installed: no comparison")
    print("| run | s | peak RSS MB |\n| --- | ---: | ---: |")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {peak / MB:.0f} |")


def bench_volume(work: Path, slices: int) -> None:
    start = time.perf_counter()
    files = make_stack(work / "stack", slices)
    total = slices * 1024 * 1024 * 2
    print(
        f"\n## volume 1024 x 1024 x {slices} uint16 ({total / MB:.0f} MB) from {len(files)} "
        f"TIFF files (written in {time.perf_counter() - start:.1f} s)"
    )
    result = run_child("stack", work / "stack", work / "volume.h5")
    print(
        f"write_canonical: {result['s']:.2f} s ({total / MB / result['s']:.0f} MB/s), "
        f"peak RSS {result['peak'] / MB:.0f} MB, {result['levels']} levels, "
        f"file {(work / 'volume.h5').stat().st_size / MB:.0f} MB"
    )
    shutil.rmtree(work / "stack")


def _time_plane(canonical: CanonicalArray, axis: str, index: int, level: int) -> float:
    start = time.perf_counter()
    canonical.plane(axis, index, level)  # type: ignore[arg-type]
    return time.perf_counter() - start


def bench_ortho(work: Path, size: int) -> None:
    path, raw = work / "ortho.h5", work / "ortho.raw"
    result = run_child("synthetic", size, path)
    memmap = np.memmap(raw, np.uint16, "w+", shape=(size,) * 3)
    for z in range(0, size, 64):
        memmap[z : z + 64] = _volume_slab(z, min(64, size - z), size)
    memmap.flush()
    del memmap
    print(
        f"\n## orthoslices of a {size}³ uint16 canonical array (built in {result['s']:.1f} s, "
        f"{path.stat().st_size / MB:.0f} MB); ms, median (runs)"
    )
    print("| plane | level | plane px | warm ms | cold ms |\n| --- | ---: | --- | ---: | ---: |")
    indexes = [64 * k + 5 for k in range(size // 64)][:6]
    with CanonicalArray(path) as canonical:
        levels = min(2, canonical.levels)
    for level in range(levels):
        for axis in ("z", "y", "x"):
            with path.open("rb") as file:  # warm again after the last axis's evictions
                while file.read(64 * 1024 * 1024):
                    pass
            with CanonicalArray(path) as canonical:
                canonical.plane(axis, indexes[0], level)  # type: ignore[arg-type]
                warm = [_time_plane(canonical, axis, i, level) for i in indexes[1:]]
                shape = canonical.plane(axis, 0, level).shape  # type: ignore[arg-type]
            cold = []
            for i in indexes[:3]:
                evict(path)
                with CanonicalArray(path) as canonical:
                    cold.append(_time_plane(canonical, axis, i, level))
            print(
                f"| {axis} ({'XY' if axis == 'z' else 'XZ' if axis == 'y' else 'YZ'}) | {level} "
                f"| {shape[1]} x {shape[0]} | {_ms(warm)} | {_ms(cold)} |"
            )
    mm = np.memmap(raw, np.uint16, "r", shape=(size,) * 3)
    warm = []
    for i in indexes[1:]:
        start = time.perf_counter()
        np.array(mm[i])
        warm.append(time.perf_counter() - start)
    cold = []
    for i in indexes[:3]:
        evict(raw)
        mm = np.memmap(raw, np.uint16, "r", shape=(size,) * 3)
        start = time.perf_counter()
        np.array(mm[i])
        cold.append(time.perf_counter() - start)
    print(f"| raw memmap XY | - | {size} x {size} | {_ms(warm)} | {_ms(cold)} |")


def _ms(values: list[float]) -> str:
    runs = " ".join(f"{v * 1000:.0f}" for v in values)
    return f"{statistics.median(values) * 1000:.0f} ({runs})"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except StopIteration:
        model = cpu
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"CPUs: {os.cpu_count()} ({model}), memory {mem:.1f} GiB, "
        f"Python {platform.python_version()}, "
        f"kernel {platform.release()}, load average {os.getloadavg()}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--mosaic", default="32000x27000", help="HEIGHTxWIDTH")
    parser.add_argument("--volume-slices", type=int, default=512)
    parser.add_argument("--ortho-size", type=int, default=1024)
    parser.add_argument("--skip", default="", help="comma-separated: mosaic,volume,ortho")
    parser.add_argument(
        "--mosaic-compression", default=None, help="TIFF compression of the mosaic, e.g. lzw"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(machine())
    work = Path(tempfile.mkdtemp(prefix="ctvault-pyramid-", dir=args.dir))
    try:
        if "mosaic" not in skip:
            height, width = (int(v) for v in args.mosaic.lower().split("x"))
            bench_mosaic(work, height, width, args.mosaic_compression)
            for name in ("mosaic.tif", "mosaic.h5", "vips.tif"):
                (work / name).unlink(missing_ok=True)
        if "volume" not in skip:
            bench_volume(work, args.volume_slices)
            (work / "volume.h5").unlink(missing_ok=True)
        if "ortho" not in skip:
            bench_ortho(work, args.ortho_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
