"""Resources: the long-lived things one process builds once from Settings."""

from __future__ import annotations

import dataclasses
import secrets

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lims.auth.identity import Identity
from lims.auth.ldap import LdapDirectory
from lims.clock import Clock, SystemClock
from lims.db.session import make_engine, make_session_factory
from lims.db.uow import UnitOfWork
from lims.errors import ConfigurationError
from lims.services.context import ServiceContext
from lims.services.login import Directory
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from processing.queues import JobQueue


@dataclasses.dataclass(frozen=True, slots=True)
class Resources:
    """Engine, session factory, Redis, blob store and clock of one process."""

    settings: Settings
    session_factory: sessionmaker[Session]
    redis: Redis[bytes]
    blobstore: BlobStore
    clock: Clock
    engine: Engine | None = None
    directory: Directory | None = None

    def unit_of_work(self) -> UnitOfWork:
        """A fresh unit of work."""
        return UnitOfWork(self.session_factory)

    def service_context(self, uow: UnitOfWork, identity: Identity | None) -> ServiceContext:
        """The context services receive for one unit of work."""
        return ServiceContext(
            queues=JobQueue(self.redis),
            uow=uow,
            identity=identity,
            blobstore=self.blobstore,
            settings=self.settings,
        )

    def close(self) -> None:
        """Release connections."""
        self.redis.close()
        if self.engine is not None:
            self.engine.dispose()


def build_resources(settings: Settings) -> Resources:
    """Connect to the configured PostgreSQL and Redis and open the store.

    Raises:
        ConfigurationError: DATABASE_URL or REDIS_URL is missing (start the embedded
            servers first, as ``ctvault serve`` does).
    """
    if settings.database_url is None or settings.redis_url is None:
        raise ConfigurationError("DATABASE_URL and REDIS_URL must be set (or use ctvault serve)")
    engine = make_engine(settings.database_url, role=settings.db_role or None)
    store = BlobStore(settings.blob_dir)
    store.ensure()
    directory = LdapDirectory(settings) if settings.ldap_url else None
    return Resources(
        settings=settings,
        session_factory=make_session_factory(engine),
        redis=Redis.from_url(settings.redis_url),
        blobstore=store,
        clock=SystemClock(),
        engine=engine,
        directory=directory,
    )


def secret_key(settings: Settings) -> str:
    """The configured secret key, or one generated once into the data folder."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
