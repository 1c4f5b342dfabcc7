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
from processing.execution import reap_stale_runs
from processing.queues import JobQueue

#: Every queue ctvault uses, highest priority first: ``default`` for short jobs, ``heavy``
#: for reconstructions and other jobs that need a big machine.
QUEUES: tuple[str, ...] = ("default", "heavy")

#: How often an idle worker looks for runs whose worker died (and on every start).
REAP_INTERVAL_S = 60

_log = logging.getLogger(__name__)


class ReapingWorker(Worker):
    """An RQ worker that, on start and then every minute, fails runs whose worker died.

    RQ's own maintenance (cleaning its registries) runs first; then
    :func:`processing.execution.reap_stale_runs` marks a run left ``running`` by a killed
    worker as failed and puts a queued run that lost its job back on its queue.
    """

    def run_maintenance_tasks(self) -> None:
        """RQ's registry cleaning, then the sweep for runs of dead workers."""
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        resources = context.resources()
        try:
            reaped = reap_stale_runs(resources, JobQueue(resources.redis))
        except Exception:  # noqa: BLE001 - a failed sweep must not stop the worker; the next retries
            _log.exception("reaping stale runs failed")
            return
        for run_id in reaped["failed"]:
            _log.warning("run %s: its worker died; marked failed", run_id)
        for run_id in reaped["requeued"]:
            _log.warning("run %s: its job was lost; queued again", run_id)


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
        worker = ReapingWorker(
            [Queue(name, connection=resources.redis, serializer=serializer) for name in names],
            connection=resources.redis,
            serializer=serializer,
            maintenance_interval=REAP_INTERVAL_S,
        )
        _log.info("worker %s consuming %s", worker.name, ", ".join(names))
        return bool(worker.work(burst=burst, logging_level="INFO"))
    finally:
        context.clear_resources()
        resources.close()
