"""What a running job can reach: the resources its worker process built once at start.

``processing.worker.main`` calls :func:`set_resources` before RQ starts; a job calls
:func:`resources`. Jobs receive string ids only, never connections.
"""

from __future__ import annotations

import dataclasses

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lims.clock import Clock
from lims.db.uow import UnitOfWork
from lims.settings import Settings
from lims.storage.blobstore import BlobStore


@dataclasses.dataclass(frozen=True, slots=True)
class JobResources:
    """Engine, sessions, store, Redis and clock of one worker process."""

    settings: Settings
    session_factory: sessionmaker[Session]
    redis: Redis[bytes]
    blobstore: BlobStore
    clock: Clock
    hostname: str
    engine: Engine | None = None

    def unit_of_work(self) -> UnitOfWork:
        """A fresh unit of work."""
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        """Release connections."""
        self.redis.close()
        if self.engine is not None:
            self.engine.dispose()


_current: list[JobResources] = []


def set_resources(resources: JobResources) -> None:
    """Make ``resources`` what jobs in this process use (replacing any earlier ones)."""
    _current[:] = [resources]


def clear_resources() -> None:
    """Forget the resources (the worker is stopping)."""
    _current.clear()


def resources() -> JobResources:
    """The resources of this worker process.

    Raises:
        RuntimeError: no worker set them up (a job was called outside ``ctvault worker``).
    """
    if not _current:
        raise RuntimeError("job resources are not set: run jobs with `ctvault worker`")
    return _current[0]
