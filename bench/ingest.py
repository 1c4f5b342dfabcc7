"""Benchmark: blob-store ingest against hashlib, sha256sum and cp + sync on the same file.

Usage::

    .venv/bin/python bench/ingest.py [--size-gib 2] [--dir /path] [--repeat 3]
                                     [--files 64] [--no-cold]

Creates its data in a temporary folder (under ``--dir``, default the system temp folder;
put it on the disk the blob store will live on), prints tables and removes everything.

* single file, warm: the source is in the page cache; each figure is the median of
  ``--repeat`` runs, interleaved so that disk and host noise hits every row alike.
* single file, cold: the source is evicted from the page cache (``POSIX_FADV_DONTNEED`` on
  that file only) before each run.
* folder: ``--files`` files of the same total size, ingested with a ``ThreadPoolExecutor``
  over ``BlobStore.put_file`` (as ``lims.services.ingest.stage_files`` does) with one worker
  and with one per core; "cores used" is process CPU time over wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lims.storage.blobstore import BlobStore

MB = 1_000_000
GIB = 1024**3
WRITE_CHUNK = 16 * 1024 * 1024


def main() -> None:
    args = _parse()
    print(_machine(args.dir))
    work = Path(tempfile.mkdtemp(prefix="ctvault-bench-", dir=args.dir))
    try:
        size = int(args.size_gib * GIB)
        source = work / "source.bin"
        _make_file(source, size)
        print(f"\ndata folder: {work} ({_filesystem(work)}), file: {size / MB:.0f} MB")
        rows = _single_file(source, work, args.repeat, cold=False)
        _print_table(f"single file, in page cache, median of {args.repeat}", rows, size)
        if args.cold:
            rows = _single_file(source, work, args.repeat, cold=True)
            _print_table(f"single file, cold cache, median of {args.repeat}", rows, size)
        source.unlink()
        if args.files:
            _folder(work, size, args.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average after the run: {Path('/proc/loadavg').read_text().split()[0]}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=2.0, help="total data size (GiB)")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the data")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--files", type=int, default=64, help="files in folder mode (0: skip)")
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip cold runs")
    return parser.parse_args()


def _single_file(source: Path, work: Path, repeat: int, *, cold: bool) -> dict[str, list[float]]:
    expected = _hashlib_digest(source)
    copy = work / "copy.bin"
    store_root = work / "store"
    measures: dict[str, Callable[[], object]] = {
        "ingest (BlobStore.put_file)": lambda: _check(
            BlobStore(store_root).put_file(source).sha256, expected
        ),
        "hashlib.sha256 alone": lambda: _check(_hashlib_digest(source), expected),
        "sha256sum": lambda: _check(_sha256sum(source), expected),
        "cp + sync FILE": lambda: _cp_sync(source, copy),
    }
    times: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(repeat):
        for name, measure in measures.items():
            if cold:
                _evict(source)
            start = time.perf_counter()
            measure()
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(store_root, ignore_errors=True)
            copy.unlink(missing_ok=True)
            _settle()
    return times


def _folder(work: Path, total: int, count: int) -> None:
    folder = work / "folder"
    folder.mkdir()
    files = [folder / f"slice_{index:05d}.bin" for index in range(count)]
    for path in files:
        _make_file(path, total // count)
    size = sum(path.stat().st_size for path in files)
    print(f"\nfolder: {count} files, {size / MB:.0f} MB in total, in page cache")
    print(f"{'mode':<34} {'s':>7} {'MB/s':>7} {'cores used':>11}")
    nproc = os.cpu_count() or 1
    for label, workers in (
        ("hashlib, one file after another", 0),
        ("ingest, 1 thread", 1),
        (f"ingest, {nproc} threads", nproc),
    ):
        store = BlobStore(work / "store")
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        if workers:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(store.put_file, files))
        else:
            for path in files:
                _hashlib_digest(path)
        elapsed = time.perf_counter() - start
        cores = (_cpu_seconds() - cpu_before) / elapsed
        print(f"{label:<34} {elapsed:7.2f} {size / MB / elapsed:7.0f} {cores:11.2f}")
        shutil.rmtree(work / "store", ignore_errors=True)
        _settle()


def _print_table(title: str, rows: dict[str, list[float]], size: int) -> None:
    hashlib_s = statistics.median(rows["hashlib.sha256 alone"])
    print(f"\n{title}")
    print(f"{'measure':<30} {'s':>7} {'MB/s':>7} {'x hashlib':>10}   runs (s)")
    for name, runs in rows.items():
        median = statistics.median(runs)
        print(
            f"{name:<30} {median:7.2f} {size / MB / median:7.0f} {median / hashlib_s:10.2f}   "
            + " ".join(f"{run:.2f}" for run in runs)
        )
    ratio = statistics.median(rows["ingest (BlobStore.put_file)"]) / hashlib_s
    verdict = "met" if ratio <= 1.15 else "NOT met"
    print(f"ingest / hashlib = {ratio:.2f} (target <= 1.15: {verdict})")


def _hashlib_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _sha256sum(path: Path) -> str:
    result = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return result.stdout.split()[0]


def _cp_sync(source: Path, target: Path) -> None:
    subprocess.run(["cp", str(source), str(target)], check=True)
    # sync FILE fsyncs just that file, the same durability the blob store gives.
    subprocess.run(["sync", str(target)], check=True)


def _check(digest: str, expected: str) -> None:
    if digest != expected:
        raise SystemExit(f"digest mismatch: {digest} != {expected}")


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(WRITE_CHUNK)
    with path.open("wb") as handle:
        for offset in range(0, size, WRITE_CHUNK):
            # A varying prefix keeps every block (and every file) distinct.
            prefix = offset.to_bytes(8, "little") + path.name.encode()
            handle.write((prefix + block)[: min(WRITE_CHUNK, size - offset)])
        handle.flush()
        os.fsync(handle.fileno())


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _settle() -> None:
    # Deleting gigabytes issues discards and frees pages; let that finish outside the clock.
    os.sync()
    time.sleep(1.0)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _filesystem(path: Path) -> str:
    best = ("?", "?", "")
    with Path("/proc/mounts").open() as mounts:
        for line in mounts:
            device, mount_point, fs_type, options = line.split()[:4]
            if path.resolve().is_relative_to(mount_point) and len(mount_point) >= len(best[1]):
                best = (device, mount_point, f"{fs_type} {options}")
    return f"{best[0]} on {best[1]}, {best[2]}"


def _machine(directory: Path | None) -> str:
    model = "?"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with Path("/proc/meminfo").open() as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    sha_ni = "sha_ni" in Path("/proc/cpuinfo").read_text()
    import ssl  # noqa: PLC0415 - only for the report line

    return (
        f"machine: {os.cpu_count()} CPUs, {model} (sha_ni: {sha_ni}), "
        f"{memory_kib / 1024**2:.1f} GiB RAM\n"
        f"python {platform.python_version()}, {ssl.OPENSSL_VERSION}, kernel {platform.release()}\n"
        f"temp folder: {directory or tempfile.gettempdir()}, "
        f"load average before the run: {Path('/proc/loadavg').read_text().split()[0]}"
    )


if __name__ == "__main__":
    main()
