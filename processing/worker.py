"""The RQ worker process (``ctvault worker``): build what jobs need, then consume queues.

One worker consumes the queues it is given, in priority order. Jobs are serialized as JSON
(never pickle) and carry string ids only; everything else comes from
:mod:`processing.context`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from lims.clock import SystemClock
from lims.db.session import make_engine, make_session_factory
from lims.errors import ConfigurationError
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from processing import context

#: Every queue ctvault uses, highest priority first: ``default`` for short jobs, ``heavy``
#: for reconstructions and other jobs that need a big machine.
QUEUES: tuple[str, ...] = ("default", "heavy")

_log = logging.getLogger(__name__)


def build_job_resources(settings: Settings) -> context.JobResources:
    """Connect to PostgreSQL and Redis and open the store, as jobs need them.

    Raises:
        ConfigurationError: DATABASE_URL or REDIS_URL is missing.
    """
    if settings.database_url is None or settings.redis_url is None:
        raise ConfigurationError(
            "a worker needs DATABASE_URL and REDIS_URL (ctvault serve passes its own)"
        )
    engine = make_engine(settings.database_url, role=settings.db_role or None)
    store = BlobStore(settings.blob_dir)
    store.ensure()
    return context.JobResources(
        settings=settings,
        session_factory=make_session_factory(engine),
        redis=Redis.from_url(settings.redis_url),
        blobstore=store,
        clock=SystemClock(),
        hostname=socket.gethostname(),
        engine=engine,
    )


def check_queues(queues: Sequence[str]) -> tuple[str, ...]:
    """The queue names to consume: all of them when none are given.

    Raises:
        ConfigurationError: an unknown queue name.
    """
    unknown = [name for name in queues if name not in QUEUES]
    if unknown:
        raise ConfigurationError(
            f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}"
        )
    return tuple(dict.fromkeys(queues)) or QUEUES


def main(settings: Settings, queues: Sequence[str] = (), *, burst: bool = False) -> bool:
    """Run one RQ worker until it is stopped (SIGINT/SIGTERM: finish the current job).

    Args:
        settings: with DATABASE_URL and REDIS_URL set.
        queues: queue names in priority order; all known queues when empty.
        burst: stop once the queues are empty instead of waiting for work.

    Returns:
        True when the worker did any work (RQ's own result).

    Raises:
        ConfigurationError: missing URLs or an unknown queue.
    """
    names = check_queues(queues)
    resources = build_job_resources(settings)
    context.set_resources(resources)
    try:
        serializer = JSONSerializer
        worker = Worker(
            [Queue(name, connection=resources.redis, serializer=serializer) for name in names],
            connection=resources.redis,
            serializer=serializer,
        )
        _log.info("worker %s consuming %s", worker.name, ", ".join(names))
        return bool(worker.work(burst=burst, logging_level="INFO"))
    finally:
        context.clear_resources()
        resources.close()
