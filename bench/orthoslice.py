"""Benchmark: a full orthoslice of an S³ uint16 volume at screen resolution, read and rendered.

Usage::

    .venv/bin/python bench/orthoslice.py [--dir /work] [--size 1024] [--runs 5]

A synthetic S³ uint16 volume (``bench/pyramid.py``'s noisy sphere) is written as a canonical
array by ``write_canonical`` and as a raw C-order file. Then, for each axis, full planes at
level 0 (S x S, the screen resolution of a 1024³ volume) are timed:

* read: ``CanonicalArray.plane`` (what every tile and plane request reads);
* rendered: read + window to 8 bits (``imageserver.display``) + JPEG, what the IIIF server does for
  ``full/max/0/default.jpg?min=&max=`` minus HTTP;

warm (file read into the page cache just before, each plane in a chunk layer not read
before, new handle) and
cold (file evicted with ``POSIX_FADV_DONTNEED``), against the XY plane of the raw memmap in
the same run. The CPU time of the process (all threads) per warm plane is shown too: wall
time far above it is other processes taking the CPUs. Everything is created under ``--dir``
and removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pyramid import _volume_slab, evict, machine, run_child

from lims.api import imageserver
from lims.imaging import tiles
from lims.storage.arrays import CanonicalArray

AXES = {"z": "XY", "y": "XZ", "x": "YZ"}


CPU: list[float] = []  # CPU seconds (all threads) of every warm read, for the load check


def _plane(path: Path, axis: str, index: int, *, render: bool) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    with CanonicalArray(path) as array:
        plane = array.plane(axis, index, 0)  # type: ignore[arg-type]
    if render:
        tiles.encode(imageserver.display(plane, (0.0, 40000.0)), "jpg")
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start


def _into_page_cache(path: Path) -> None:
    """Read the whole file once, so that "warm" reads after an eviction are warm again."""
    with path.open("rb") as file:
        while file.read(64 * 1024 * 1024):
            pass


def _raw_xy(raw: Path, size: int, index: int) -> float:
    start = time.perf_counter()
    np.array(np.memmap(raw, np.uint16, "r", shape=(size,) * 3)[index])
    return time.perf_counter() - start


def _ms(values: list[float]) -> str:
    runs = " ".join(f"{v * 1000:.0f}" for v in values)
    return f"{statistics.median(values) * 1000:.0f} ({runs})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size, runs = args.size, args.runs
    work = Path(tempfile.mkdtemp(prefix="ctvault-ortho-", dir=args.dir))
    try:
        print(machine())
        path, raw = work / "volume.h5", work / "volume.raw"
        built = run_child("synthetic", size, path)
        memmap = np.memmap(raw, np.uint16, "w+", shape=(size,) * 3)
        for z in range(0, size, 64):
            memmap[z : z + 64] = _volume_slab(z, min(64, size - z), size)
        memmap.flush()
        del memmap
        print(
            f"\n{size}³ uint16: canonical {path.stat().st_size / 1e6:.0f} MB built in"
            f" {built['s']:.1f} s; level-0 planes of {size} x {size}, ms, median (runs)\n"
        )
        print(
            "| plane | read warm | read cold | read + JPEG warm | read + JPEG cold"
            " | CPU ms, warm (read / + JPEG) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        indexes = [(64 * k + 5) % size for k in range(2 * runs + 1)]
        _plane(path, "z", indexes[0], render=False)  # page cache and pool warm
        for axis, name in AXES.items():
            cells, cpu_ms = [], {}
            for render in (False, True):
                CPU.clear()
                _into_page_cache(path)
                warm = [_plane(path, axis, i, render=render) for i in indexes[1 : runs + 1]]
                cpu_ms[render] = statistics.median(CPU) * 1000
                cold = []
                for i in indexes[runs + 1 : runs + 4]:
                    evict(path)
                    cold.append(_plane(path, axis, i, render=render))
                cells += [_ms(warm), _ms(cold)]
            print(
                f"| {name} ({axis}) | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} "
                f"| {cpu_ms[False]:.0f} / {cpu_ms[True]:.0f} |"
            )
        _into_page_cache(raw)
        warm = [_raw_xy(raw, size, i) for i in indexes[1 : runs + 1]]
        cold = []
        for i in indexes[runs + 1 : runs + 4]:
            evict(raw)
            cold.append(_raw_xy(raw, size, i))
        print(f"| raw memmap XY | {_ms(warm)} | {_ms(cold)} | - | - | - |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
