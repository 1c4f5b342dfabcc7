"""Committed-tier fixtures: a migrated database of its own and a live threaded server.

The rollback fixtures of ``tests/conftest.py`` share one connection and cannot span the
server's threads, so each e2e module gets a freshly migrated database, real resources from
``build_resources`` and a werkzeug server on a free port; all are dropped afterwards.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from lims.db.migrate import upgrade
from lims.runtime.embedded import start_redis
from lims.runtime.resources import Resources, build_resources
from lims.settings import Settings
from lims.web.app import create_app


@pytest.fixture(scope="module")
def committed_database_url(server_database_url: str) -> Iterator[str]:
    """A migrated database whose commits are real; dropped at the end of the module."""
    name = f"ctvault_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(server_database_url).set(drivername="postgresql+psycopg2"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_database_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def module_redis_url(embedded_dir: Path) -> Iterator[str]:
    """A Redis of this module's own (embedded): sessions live in Redis, and a shared test
    database is flushed by every other test run on the machine."""
    folder = embedded_dir / f"e2e-redis-{uuid.uuid4().hex[:8]}"
    client, url = start_redis(folder)
    yield url
    client.shutdown(nosave=True)


@pytest.fixture(scope="module")
def live_resources(
    committed_database_url: str, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Resources]:
    """Real resources on the committed database, an empty Redis and a fresh store."""
    data_dir: Path = tmp_path_factory.mktemp("e2e-data")
    settings = Settings(
        data_dir=data_dir,
        database_url=committed_database_url,
        redis_url=module_redis_url,
        secret_key="e2e-secret",
    )
    resources = build_resources(settings)
    yield resources
    resources.redis.flushdb()
    resources.close()


@pytest.fixture(scope="module")
def live_server(live_resources: Resources) -> Iterator[str]:
    """Base URL of the web app served by a threaded werkzeug server."""
    app = create_app(live_resources.settings, resources=live_resources)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
