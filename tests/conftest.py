"""Fixtures: a real PostgreSQL database per xdist worker and a real Redis, rollback-isolated.

Servers: CTVAULT_TEST_DATABASE_URL / CTVAULT_TEST_REDIS_URL if set; else the local servers on
127.0.0.1:5432 / :6379 if they answer; else embedded ones started in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.clock import SystemClock
from lims.db.migrate import upgrade
from lims.db.session import make_engine
from lims.db.uow import UnitOfWork
from lims.runtime.embedded import start_postgres, start_redis
from lims.runtime.resources import Resources
from lims.services.context import ServiceContext
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from processing import context as job_context
from processing.queues import DEFAULT, HEAVY
from tests.factories import make_user

APP_ROLE = "ctvault_app"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(*ids): REQUIREMENTS.md ids a test proves")


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    # Not under pytest's tmp root: as root, PostgreSQL runs as another user, and a later
    # pytest session would reset that root to mode 0700 beneath the running server.
    folder = Path(tempfile.mkdtemp(prefix="ctvault-embedded-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server_database_url(embedded_dir: Path) -> Iterator[str]:
    """URL of a maintenance database on the PostgreSQL server the suite uses."""
    configured = os.environ.get("CTVAULT_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    if _answers("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    server, url = start_postgres(embedded_dir)
    yield url.replace("/ctvault?", "/postgres?")
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(server_database_url: str, worker_id: str) -> Iterator[str]:
    """A freshly migrated database for this xdist worker, dropped at the end."""
    name = f"ctvault_test_{worker_id}_{uuid.uuid4().hex[:6]}"
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


@pytest.fixture(scope="session")
def template_database(server_database_url: str, worker_id: str) -> Iterator[str]:
    """A migrated database nobody connects to, cloned for tests that need committed data."""
    name = f"ctvault_tpl_{worker_id}_{uuid.uuid4().hex[:6]}"
    with _admin_engine(server_database_url).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(make_url(server_database_url).set(database=name).render_as_string(hide_password=False))
    yield name
    with _admin_engine(server_database_url).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_database_url(server_database_url: str, template_database: str) -> Iterator[str]:
    """A new migrated database whose commits persist (for subprocesses); dropped afterwards."""
    name = f"ctvault_e2e_{uuid.uuid4().hex[:10]}"
    with _admin_engine(server_database_url).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(server_database_url).set(database=name).render_as_string(hide_password=False)
    with _admin_engine(server_database_url).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _admin_engine(server_database_url: str) -> Engine:
    return create_engine(
        make_url(server_database_url).set(drivername="postgresql+psycopg2"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, role=APP_ROLE)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@contextlib.contextmanager
def as_owner(session: Session) -> Iterator[Session]:
    """Act as the connecting (owner/superuser) role inside the test's transaction."""
    session.execute(text("RESET ROLE"))
    try:
        yield session
    finally:
        session.execute(text(f'SET ROLE "{APP_ROLE}"'))


@pytest.fixture(scope="session")
def redis_url(embedded_dir: Path, worker_id: str) -> Iterator[str]:
    configured = os.environ.get("CTVAULT_TEST_REDIS_URL")
    index = 0 if worker_id == "master" else int(worker_id.removeprefix("gw")) % 15 + 1
    if configured:
        yield configured
        return
    # Two suites running side by side on one machine would share the local server's
    # database indices; CTVAULT_TEST_OWN_REDIS gives this run a private embedded server.
    if _answers("127.0.0.1", 6379) and not os.environ.get("CTVAULT_TEST_OWN_REDIS"):
        yield f"redis://127.0.0.1:6379/{index}"
        return
    client, url = start_redis(embedded_dir / worker_id)
    yield url
    client.shutdown(nosave=True)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class MailSink:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            message_from_bytes(envelope.content, _class=EmailMessage, policy=default)
        )
        return "250 OK"

    def start(self) -> int:
        self._controller.start()
        return self.port

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = sink.start()
    yield sink, port
    sink.stop()


@pytest.fixture
def mailbox(mail_sink: tuple[MailSink, int]) -> MailSink:
    sink, _ = mail_sink
    sink.messages.clear()
    return sink


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, redis_url: str, mail_sink: tuple[MailSink, int]
) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        smtp_host="127.0.0.1",
        smtp_port=mail_sink[1],
        secret_key="test-secret",
        ingest_threads=2,
    )


@pytest.fixture
def resources(
    settings: Settings, session_factory: sessionmaker[Session], redis: Redis
) -> Resources:
    store = BlobStore(settings.blob_dir)
    store.ensure()
    return Resources(
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        blobstore=store,
        clock=SystemClock(),
    )


@pytest.fixture
def uow(resources: Resources) -> Iterator[UnitOfWork]:
    with resources.unit_of_work() as unit:
        yield unit


@pytest.fixture
def admin(uow: UnitOfWork) -> Identity:
    return make_user(uow, "admin", roles={Role.ADMIN})


@pytest.fixture
def scientist(uow: UnitOfWork) -> Identity:
    return make_user(uow, "mcurie", display_name="Marie Curie")


@pytest.fixture
def ctx(resources: Resources, uow: UnitOfWork, scientist: Identity) -> ServiceContext:
    return resources.service_context(uow, scientist)


@pytest.fixture
def admin_ctx(resources: Resources, uow: UnitOfWork, admin: Identity) -> ServiceContext:
    return resources.service_context(uow, admin)


@pytest.fixture
def worker(resources: Resources, redis: Redis) -> Iterator[SimpleWorker]:
    """A real RQ worker in this process, using the test's rolled-back database connection."""
    job_context.set_resources(
        job_context.JobResources(
            settings=resources.settings,
            session_factory=resources.session_factory,
            redis=redis,
            blobstore=resources.blobstore,
            clock=resources.clock,
            hostname=socket.gethostname(),
        )
    )
    queues = [Queue(name, connection=redis, serializer=JSONSerializer) for name in (DEFAULT, HEAVY)]
    yield SimpleWorker(queues, connection=redis, serializer=JSONSerializer)
    job_context.clear_resources()


def as_user(resources: Resources, uow: UnitOfWork, identity: Identity) -> ServiceContext:
    return resources.service_context(uow, identity)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
