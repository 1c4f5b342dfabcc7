"""Content-addressed, write-once blob store: bytes live under their SHA-256, read-only.

Each source byte is read once. A reader thread reads chunks, the calling thread hashes them,
and a writer thread writes them to a temporary file and flushes it to disk as it goes, so
reading, hashing, writing and fsync overlap (hashlib and file I/O release the GIL). Only a
complete, fsynced file is renamed to its digest name; a failure leaves nothing under one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import queue
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lims.storage.errors import BlobMissingError, SourceReadError, StoreFullError

CHUNK_BYTES = 8 * 1024 * 1024
FLUSH_EVERY_BYTES = 64 * 1024 * 1024
QUEUE_CHUNKS = 8
_END = b""


@dataclasses.dataclass(frozen=True, slots=True)
class StoredBlob:
    """The outcome of storing one stream: its digest, size, and whether it was new."""

    sha256: str
    size_bytes: int
    is_new: bool


class BlobStore:
    """Blobs under ``root/blobs/ab/cd/<sha256>``; temporary files under ``root/tmp``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"

    def ensure(self) -> None:
        """Create the store folders if they are missing."""
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):  # noqa: PLR2004
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self._blobs / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """True when a blob with this digest is in the store."""
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading.

        Raises:
            BlobMissingError: the store has no such blob.
        """
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise BlobMissingError(f"blob {sha256} is missing from the store") from exc

    def put_file(self, source: Path, progress: Callable[[int], None] | None = None) -> StoredBlob:
        """Store a file's bytes, reading it exactly once.

        Raises:
            SourceReadError: the file is missing, unreadable, or changed while being read.
            StoreFullError: the store ran out of space.
        """
        try:
            handle = source.open("rb")
        except FileNotFoundError as exc:
            raise SourceReadError(f"{source}: no such file") from exc
        except PermissionError as exc:
            raise SourceReadError(f"{source}: permission denied") from exc
        except IsADirectoryError as exc:
            raise SourceReadError(f"{source}: is a folder, not a file") from exc
        with handle:
            size_before = os.fstat(handle.fileno()).st_size
            blob = self.put_stream(
                handle, expected_size=size_before, source_name=str(source), progress=progress
            )
        return blob

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        expected_size: int | None = None,
        source_name: str = "upload",
        progress: Callable[[int], None] | None = None,
    ) -> StoredBlob:
        """Store everything a binary stream yields.

        Args:
            stream: read until EOF.
            expected_size: if given, a stream that yields a different number of bytes is
                refused (a cut-off upload or a file changed while being read).
            source_name: how error messages name the source.
            progress: called with the size of each chunk as it is stored.
        """
        self.ensure()
        tmp_path = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            digest, size = _copy_hashing(stream, tmp_path, source_name, progress)
            if expected_size is not None and size != expected_size:
                raise SourceReadError(
                    f"{source_name}: expected {expected_size} bytes but read {size}"
                    " (cut off, or changed while being read)"
                )
            return self._publish(tmp_path, digest, size)
        finally:
            tmp_path.unlink(missing_ok=True)

    def _publish(self, tmp_path: Path, digest: str, size: int) -> StoredBlob:
        final = self.path(digest)
        if final.is_file():
            return StoredBlob(digest, size, is_new=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp_path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp_path, final)
        _fsync_dir(final.parent)
        return StoredBlob(digest, size, is_new=True)

    def discard_new(self, sha256: str) -> None:
        """Remove a blob this process just created but never committed (failed ingest)."""
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()

    def iter_digests(self) -> Iterator[str]:
        """Every digest present in the store, in no particular order."""
        if not self._blobs.is_dir():
            return
        for first in sorted(self._blobs.iterdir()):
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    yield blob.name

    def stale_temporary_files(self) -> list[Path]:
        """Leftovers of interrupted writes (never under a digest name)."""
        return sorted(self._tmp.glob("*.part")) if self._tmp.is_dir() else []


def hash_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """SHA-256 of a file, read in large chunks; ``progress`` gets each chunk's size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    stage: str
    error: BaseException


def _copy_hashing(
    stream: BinaryIO, target: Path, source_name: str, progress: Callable[[int], None] | None
) -> tuple[str, int]:
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=QUEUE_CHUNKS)
    writes: queue.Queue[bytes] = queue.Queue(maxsize=QUEUE_CHUNKS)
    failures: list[_Failure] = []
    stop = threading.Event()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    reader = threading.Thread(target=_read_into, args=(stream, chunks, failures, stop))
    writer = threading.Thread(target=_write_from, args=(fd, writes, failures))
    reader.start()
    writer.start()
    digest = hashlib.sha256()
    size = 0
    try:
        while (chunk := chunks.get()) is not _END and not failures:
            writes.put(chunk)
            digest.update(chunk)
            size += len(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        stop.set()
        _drain(chunks)
        reader.join()
        writes.put(_END)
        writer.join()
        os.close(fd)
    if failures:
        raise _user_error(failures[0], source_name)
    return digest.hexdigest(), size


def _read_into(
    stream: BinaryIO, chunks: queue.Queue[bytes], failures: list[_Failure], stop: threading.Event
) -> None:
    try:
        while not stop.is_set():
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            chunks.put(chunk)
    except Exception as exc:  # noqa: BLE001 - handed to the calling thread
        failures.append(_Failure("read", exc))
    finally:
        chunks.put(_END)


def _write_from(fd: int, writes: queue.Queue[bytes], failures: list[_Failure]) -> None:
    unflushed = 0
    failed = False
    while (chunk := writes.get()) is not _END:
        if failed:
            continue
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
            unflushed += len(chunk)
            if unflushed >= FLUSH_EVERY_BYTES:
                # Flushing as we go keeps the final fsync short, so it overlaps the hashing.
                os.fdatasync(fd)
                unflushed = 0
        except OSError as exc:
            failures.append(_Failure("write", exc))
            failed = True
    if not failed:
        try:
            os.fsync(fd)
        except OSError as exc:
            failures.append(_Failure("write", exc))


def _drain(items: queue.Queue[bytes]) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            items.get_nowait()


def _user_error(failure: _Failure, source_name: str) -> Exception:
    exc = failure.error
    if isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        return StoreFullError(
            f"the blob store is full while storing {source_name}; nothing was stored"
        )
    if failure.stage == "read":
        return SourceReadError(f"{source_name}: read failed: {exc}")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
