"""Content-addressed, write-once blob store: bytes live under their SHA-256, read-only.

Each source byte is read once, into one of a few reusable buffers. A reader thread fills a
buffer and hands it to both the calling thread, which hashes it, and a writer thread, which
writes it to a temporary file (straight to disk where the file system allows direct I/O);
the buffer is reused when both are done with it. Reading, hashing, writing and disk
write-back therefore overlap (hashlib and file I/O release the GIL), and memory stays at
``POOL_BUFFERS * CHUNK_BYTES``.
Only a complete, fsynced file is renamed to its digest name; a failure leaves nothing under
one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import errno
import fcntl
import functools
import hashlib
import mmap
import os
import queue
import stat
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from lims.storage.errors import BlobMissingError, SourceReadError, StoreFullError

CHUNK_BYTES = 4 * 1024 * 1024
POOL_BUFFERS = 6
IDLE_BUFFERS_KEPT = 2 * POOL_BUFFERS
# Write-back window: the writer starts write-back of each window as soon as it is written and
# waits for the window before it, so dirty data stays below two windows and the final fsync
# only has the last one left to flush.
FLUSH_EVERY_BYTES = 32 * 1024 * 1024
# Direct I/O halves the CPU an ingest needs (no copy into the page cache); see _Target.
DIRECT_IO = True
_DIRECT_ALIGN: Final = 4096

_SYNC_FILE_RANGE_WAIT_BEFORE: Final = 1
_SYNC_FILE_RANGE_WRITE: Final = 2
_SYNC_FILE_RANGE_WAIT_AFTER: Final = 4
_END: Final = -1


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
            # Unbuffered: readinto() then reads straight into the pool's buffers.
            handle = source.open("rb", buffering=0)
        except FileNotFoundError as exc:
            raise SourceReadError(f"{source}: no such file") from exc
        except PermissionError as exc:
            raise SourceReadError(f"{source}: permission denied") from exc
        except IsADirectoryError as exc:
            raise SourceReadError(f"{source}: is a folder, not a file") from exc
        except OSError as exc:
            raise SourceReadError(f"{source}: cannot open: {exc.strerror or exc}") from exc
        with handle:
            _advise_sequential(handle.fileno())
            size_before = os.fstat(handle.fileno()).st_size
            return self.put_stream(
                handle, expected_size=size_before, source_name=str(source), progress=progress
            )

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

        Returns:
            The digest and size of the bytes, and whether the store did not have them yet.

        Raises:
            SourceReadError: the stream failed, or yielded other than ``expected_size`` bytes.
            StoreFullError: the store ran out of space.
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
        created = [d for d in (final.parent.parent, final.parent) if not d.is_dir()]
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp_path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        try:
            # link, not rename: of two writers of the same bytes exactly one creates the name,
            # so only that one may later discard it.
            os.link(tmp_path, final)
        except FileExistsError:
            return StoredBlob(digest, size, is_new=False)
        try:
            # New fan-out folders must be durable in their parents too, or the blob could
            # vanish with them after a crash.
            for directory in {final.parent, *(d.parent for d in created)}:
                _fsync_dir(directory)
        except OSError:
            final.unlink(missing_ok=True)
            raise
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
    with path.open("rb", buffering=0) as handle, _BUFFERS.lend(1) as (view,):
        while size := handle.readinto(view):
            digest.update(view[:size])
            if progress is not None:
                progress(size)
    return digest.hexdigest()


class _BufferCache:
    """Page-aligned chunk buffers (as direct I/O requires), kept between ingests.

    Touching fresh memory costs page faults (and, in a VM, host work) on every chunk, which
    showed as 100 ms per file, so a few idle buffers are kept for the next ingest.
    """

    def __init__(self) -> None:
        self._idle: list[mmap.mmap] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lend(self, count: int) -> Iterator[list[memoryview]]:
        with self._lock:
            taken = [b for b in self._idle[-count:] if len(b) == CHUNK_BYTES]
            del self._idle[len(self._idle) - min(count, len(self._idle)) :]
        taken += [mmap.mmap(-1, CHUNK_BYTES) for _ in range(count - len(taken))]
        views = [memoryview(buffer) for buffer in taken]
        try:
            yield views
        finally:
            for view in views:
                view.release()
            with self._lock:
                kept = max(0, IDLE_BUFFERS_KEPT - len(self._idle))
                self._idle.extend(taken[:kept])
            for buffer in taken[kept:]:
                buffer.close()


_BUFFERS = _BufferCache()


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    stage: str
    error: BaseException


class _Pipeline:
    """A pool of buffers shared by one reader and two consumers (hasher and writer).

    A filled buffer goes to both consumers and comes back to the pool when both have
    released it, so at most ``POOL_BUFFERS`` chunks are ever in memory.
    """

    def __init__(self, views: list[memoryview]) -> None:
        self.views = views
        self.free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(POOL_BUFFERS):
            self.free.put(index)
        self.to_hash: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self.to_write: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self.failures: list[_Failure] = []
        self.stop = threading.Event()
        self._users = [0] * POOL_BUFFERS
        self._lock = threading.Lock()

    def fail(self, stage: str, error: BaseException) -> None:
        self.failures.append(_Failure(stage, error))
        self.stop.set()

    def publish(self, index: int, size: int) -> None:
        with self._lock:
            self._users[index] = 2
        self.to_hash.put((index, size))
        self.to_write.put((index, size))

    def release(self, index: int) -> None:
        with self._lock:
            self._users[index] -= 1
            is_free = self._users[index] == 0
        if is_free:
            self.free.put(index)

    def finish(self) -> None:
        self.to_hash.put((_END, 0))
        self.to_write.put((_END, 0))


def _copy_hashing(
    stream: BinaryIO, target: Path, source_name: str, progress: Callable[[int], None] | None
) -> tuple[str, int]:
    with _BUFFERS.lend(POOL_BUFFERS) as views:
        return _run_pipeline(_Pipeline(views), stream, target, source_name, progress)


def _run_pipeline(
    pipe: _Pipeline,
    stream: BinaryIO,
    target: Path,
    source_name: str,
    progress: Callable[[int], None] | None,
) -> tuple[str, int]:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    reader = threading.Thread(target=_read_into, args=(stream, pipe), name="blob-reader")
    writer = threading.Thread(target=_write_from, args=(fd, pipe), name="blob-writer")
    digest = hashlib.sha256()
    size = 0
    is_drained = False
    try:
        reader.start()
        writer.start()
        while (item := pipe.to_hash.get())[0] != _END:
            index, length = item
            if not pipe.stop.is_set():
                digest.update(pipe.views[index][:length])
                size += length
                if progress is not None:
                    progress(length)
            pipe.release(index)
        is_drained = True
    except BaseException as exc:
        pipe.fail("hash", exc)
        raise
    finally:
        if reader.ident is None:
            pipe.finish()
        elif not is_drained:
            # Keep releasing buffers until the reader's end mark, so that it can always get
            # one, see the stop flag and finish.
            while (item := pipe.to_hash.get())[0] != _END:
                pipe.release(item[0])
            reader.join()
        else:
            reader.join()
        if writer.ident is not None:
            writer.join()
        os.close(fd)
    if pipe.failures:
        raise _user_error(pipe.failures[0], source_name)
    return digest.hexdigest(), size


def _read_into(stream: BinaryIO, pipe: _Pipeline) -> None:
    readinto = getattr(stream, "readinto", None)
    try:
        while not pipe.stop.is_set():
            index = pipe.free.get()
            if pipe.stop.is_set():
                break
            view = pipe.views[index]
            if readinto is not None:
                length = readinto(view) or 0
            else:
                data = stream.read(CHUNK_BYTES)
                length = len(data)
                view[:length] = data
            if not length:
                break
            pipe.publish(index, length)
    except Exception as exc:  # noqa: BLE001 - handed to the calling thread
        pipe.fail("read", exc)
    finally:
        pipe.finish()


def _write_from(fd: int, pipe: _Pipeline) -> None:
    target = _Target(fd)
    while (item := pipe.to_write.get())[0] != _END:
        index, length = item
        if not pipe.stop.is_set():
            try:
                target.write(pipe.views[index][:length])
            except OSError as exc:
                pipe.fail("write", exc)
        pipe.release(index)
    if not pipe.stop.is_set():
        try:
            os.fsync(fd)
        except OSError as exc:
            pipe.fail("write", exc)


class _Target:
    """Writes a temporary blob file and keeps its write-back running, so the final fsync is short.

    Where the file system allows it, whole aligned chunks go straight to the disk
    (``O_DIRECT``): no copy into the page cache and no cache pressure, which leaves the CPU
    to hashing. Otherwise, and for a ragged tail, writes go through the page cache: on Linux
    ``sync_file_range`` starts write-back of each finished window without waiting and then
    waits for the window before it, so the disk works while the writer copies; elsewhere
    ``fdatasync`` once per window does the same job less smoothly. None of this replaces the
    final ``fsync``, which alone makes the data and metadata durable.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._written = 0
        self._started = 0
        self._waited = 0
        self._is_direct = DIRECT_IO and _set_direct(fd, on=True)

    def write(self, view: memoryview) -> None:
        if self._is_direct and (len(view) % _DIRECT_ALIGN or self._written % _DIRECT_ALIGN):
            self._is_direct = _set_direct(self._fd, on=False)
        while view:
            try:
                count = os.write(self._fd, view)
            except OSError as exc:
                if not (self._is_direct and exc.errno == errno.EINVAL):
                    raise
                self._is_direct = _set_direct(self._fd, on=False)
                continue
            view = view[count:]
            self._written += count
        if not self._is_direct:
            self._flush_behind()

    def _flush_behind(self) -> None:
        if self._written - self._started < FLUSH_EVERY_BYTES:
            return
        if _sync_file_range() is None:
            os.fdatasync(self._fd)
            self._started = self._waited = self._written
            return
        _range_sync(self._fd, self._started, self._written - self._started, _SYNC_FILE_RANGE_WRITE)
        if self._started > self._waited:
            flags = (
                _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WRITE | _SYNC_FILE_RANGE_WAIT_AFTER
            )
            _range_sync(self._fd, self._waited, self._started - self._waited, flags)
            # Written and on disk: drop it from the cache, so a big ingest recycles a few
            # windows of page cache instead of evicting everything else.
            _drop_cached(self._fd, self._waited, self._started - self._waited)
            self._waited = self._started
        self._started = self._written


def _set_direct(fd: int, *, on: bool) -> bool:
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | flag if on else flags & ~flag)
    except OSError:
        return False
    return on


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _range_sync(fd: int, offset: int, length: int, flags: int) -> None:
    function = _sync_file_range()
    if function is None or function(fd, offset, length, flags) == 0:
        return
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.ESPIPE, errno.EOPNOTSUPP}:
        return  # no range write-back here; the final fsync still makes the file durable
    raise OSError(code, os.strerror(code))


def _advise_sequential(fd: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def _drop_cached(fd: int, offset: int, length: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _user_error(failure: _Failure, source_name: str) -> BaseException:
    exc = failure.error
    if isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        return StoreFullError(
            f"the blob store is full while storing {source_name}; nothing was stored"
        )
    if failure.stage == "read":
        return SourceReadError(f"{source_name}: read failed: {exc}")
    return exc


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
