"""Unit tests of the write-once blob store: digests, durability rules, failures leave nothing."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lims.storage import blobstore
from lims.storage.blobstore import BlobStore, hash_file
from lims.storage.errors import BlobMissingError, SourceReadError, StoreFullError

CHUNK = blobstore.CHUNK_BYTES


def _data(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(seed.to_bytes(8, "little")).digest()
    return (block * (size // len(block) + 1))[:size]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _blob_files(store: BlobStore) -> list[Path]:
    blobs = store.root / "blobs"
    return sorted(p for p in blobs.rglob("*") if p.is_file()) if blobs.is_dir() else []


def _tmp_files(store: BlobStore) -> list[Path]:
    tmp = store.root / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def _assert_nothing_stored(store: BlobStore) -> None:
    assert _blob_files(store) == []
    assert _tmp_files(store) == []
    assert store.stale_temporary_files() == []


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store")


class _FailingStream(io.RawIOBase):
    """Yields ``good_bytes`` bytes, then raises like a disk or network read error."""

    def __init__(self, good_bytes: int) -> None:
        self._left = good_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        count = min(len(buffer), self._left, 1 << 20)
        buffer[:count] = b"x" * count
        self._left -= count
        return count


class _ReadOnlyStream:
    """A stream with read() but no readinto(), yielding small, unaligned pieces."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 100_003))


def test_same_bytes_are_stored_once(store: BlobStore, tmp_path: Path) -> None:
    data = _data(3 * CHUNK + 12345)
    first = store.put_file(_write(tmp_path / "a.bin", data))
    second = store.put_file(_write(tmp_path / "b.bin", data))

    assert first.is_new
    assert not second.is_new
    assert first.sha256 == second.sha256
    assert _blob_files(store) == [store.path(first.sha256)]
    assert _tmp_files(store) == []


@pytest.mark.parametrize(
    "size", [0, 1, 4095, 4096, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 4097], ids=str
)
def test_digest_and_bytes_match_the_source(store: BlobStore, tmp_path: Path, size: int) -> None:
    data = _data(size, seed=size)
    seen: list[int] = []
    blob = store.put_file(_write(tmp_path / "scan.bin", data), progress=seen.append)

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size_bytes == size
    assert sum(seen) == size
    assert store.exists(blob.sha256)
    with store.open(blob.sha256) as handle:
        assert handle.read() == data
    assert hash_file(store.path(blob.sha256)) == blob.sha256


def test_stored_blob_is_read_only(store: BlobStore, tmp_path: Path) -> None:
    blob = store.put_file(_write(tmp_path / "scan.bin", _data(5000)))

    mode = stat.S_IMODE(store.path(blob.sha256).stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert mode & stat.S_IRUSR


def test_buffered_write_back_paths_store_the_same_bytes(
    store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(5 * CHUNK + 777)
    source = _write(tmp_path / "scan.bin", data)
    monkeypatch.setattr(blobstore, "DIRECT_IO", False)
    monkeypatch.setattr(blobstore, "FLUSH_EVERY_BYTES", CHUNK)

    with_range_sync = store.put_file(source)
    store.discard_new(with_range_sync.sha256)
    monkeypatch.setattr(blobstore, "_sync_file_range", lambda: None)
    with_fdatasync = store.put_file(source)

    assert with_range_sync.sha256 == with_fdatasync.sha256 == hashlib.sha256(data).hexdigest()
    assert store.path(with_fdatasync.sha256).read_bytes() == data


def test_stream_without_readinto_and_short_reads(store: BlobStore) -> None:
    data = _data(2 * CHUNK + 99)
    blob = store.put_stream(_ReadOnlyStream(data), expected_size=len(data))  # type: ignore[arg-type]

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert store.path(blob.sha256).read_bytes() == data


@pytest.mark.parametrize("expected", [0, 1000 - 1, 1000 + 1])
def test_size_mismatch_is_refused_and_stores_nothing(store: BlobStore, expected: int) -> None:
    with pytest.raises(SourceReadError, match=f"expected {expected} bytes but read 1000"):
        store.put_stream(io.BytesIO(_data(1000)), expected_size=expected, source_name="up.tif")

    _assert_nothing_stored(store)


@pytest.mark.parametrize("good_bytes", [0, 1, CHUNK, 3 * CHUNK + 5])
def test_stream_failing_midway_stores_nothing(store: BlobStore, good_bytes: int) -> None:
    with pytest.raises(SourceReadError, match="upload 7: read failed") as info:
        store.put_stream(_FailingStream(good_bytes), source_name="upload 7")  # type: ignore[arg-type]

    assert "Input/output error" in str(info.value)
    _assert_nothing_stored(store)


def test_failing_progress_callback_stops_cleanly(store: BlobStore, tmp_path: Path) -> None:
    def progress(size: int) -> None:
        raise KeyboardInterrupt(size)

    with pytest.raises(KeyboardInterrupt):
        store.put_file(_write(tmp_path / "scan.bin", _data(4 * CHUNK)), progress=progress)

    _assert_nothing_stored(store)


def test_missing_source_is_a_one_line_read_error(store: BlobStore, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "scan.tif"
    with pytest.raises(SourceReadError) as info:
        store.put_file(missing)

    message = str(info.value)
    assert message == f"{missing}: no such file"
    assert "\n" not in message
    _assert_nothing_stored(store)


def test_folder_as_source_is_a_read_error(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(SourceReadError, match="is a folder, not a file"):
        store.put_file(tmp_path)

    _assert_nothing_stored(store)


def test_failed_directory_fsync_leaves_nothing_under_the_digest(
    store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(directory: Path) -> None:
        raise OSError(errno.EIO, "Input/output error", str(directory))

    monkeypatch.setattr(blobstore, "_fsync_dir", broken_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        store.put_file(_write(tmp_path / "scan.bin", _data(1000)))

    _assert_nothing_stored(store)


def test_many_files_at_once(store: BlobStore, tmp_path: Path) -> None:
    sources = [_write(tmp_path / f"s{i}.bin", _data(CHUNK // 3 + i, seed=i)) for i in range(12)]
    sources.append(_write(tmp_path / "copy.bin", sources[0].read_bytes()))
    with ThreadPoolExecutor(max_workers=4) as pool:
        blobs = list(pool.map(store.put_file, sources))

    for source, blob in zip(sources, blobs, strict=True):
        assert blob.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert len(_blob_files(store)) == 12
    assert sorted(store.iter_digests()) == sorted({b.sha256 for b in blobs})
    assert _tmp_files(store) == []


def test_missing_blob_and_bad_digest(store: BlobStore) -> None:
    with pytest.raises(BlobMissingError):
        store.open("0" * 64)
    with pytest.raises(ValueError, match="not a SHA-256 digest"):
        store.path("../etc/passwd")


@pytest.fixture
def tiny_store(tmp_path: Path) -> Iterator[BlobStore]:
    """A store on a real 1 MiB tmpfs, so that writes hit ENOSPC."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], check=True)
    try:
        yield BlobStore(mount_point / "store")
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.parametrize("direct_io", [True, False], ids=["direct", "buffered"])
def test_full_store_raises_store_full_and_stores_nothing(
    tiny_store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_io: bool
) -> None:
    monkeypatch.setattr(blobstore, "DIRECT_IO", direct_io)
    source = _write(tmp_path / "scan.bin", _data(4_000_000))

    with pytest.raises(StoreFullError, match="the blob store is full") as info:
        tiny_store.put_file(source)

    assert str(source) in str(info.value)
    _assert_nothing_stored(tiny_store)
