"""Queue names and enqueueing; jobs carry string ids only, serialised as JSON."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import uuid

from redis import Redis
from rq import Queue, Worker
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

DEFAULT = "default"
HEAVY = "heavy"
PREPARE_TIMEOUT_S = 6 * 3600
RUN_TIMEOUT_S = 24 * 3600
# A started job whose worker has not beaten its heart for this long is taken as dead.
HEARTBEAT_STALE_S = 180
_LIVE = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})


def run_job_id(run_id: uuid.UUID) -> str:
    """The RQ job id of a run (one per run, so enqueueing twice is harmless)."""
    return f"run-{run_id}"


class JobQueue:
    """Puts jobs on the RQ queues ctvault's workers consume."""

    def __init__(self, redis: Redis[bytes]) -> None:
        self._redis = redis

    def _queue(self, name: str) -> Queue:
        return Queue(name, connection=self._redis, serializer=JSONSerializer)

    def enqueue_preparation(self, version_id: uuid.UUID) -> None:
        """Ask a worker to build the canonical array and previews of a version.

        The job id is derived from the version, so enqueueing twice is harmless.
        """
        self._queue(HEAVY).enqueue(
            "processing.jobs.prepare_version",
            str(version_id),
            job_id=f"prepare-{version_id}",
            job_timeout=PREPARE_TIMEOUT_S,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )

    def enqueue_run(self, run_id: uuid.UUID, *, resource_class: str, kind: str = "run") -> None:
        """Ask a worker to execute (or replay) a submitted run; the argument is its id only.

        Args:
            run_id: the run, already committed with status ``queued``.
            resource_class: ``default`` or ``heavy``: the queue to use.
            kind: ``run`` (``processing.jobs.execute_run``) or ``replay``
                (``processing.jobs.replay_run``).
        """
        function = "replay_run" if kind == "replay" else "execute_run"
        self._queue(HEAVY if resource_class == HEAVY else DEFAULT).enqueue(
            f"processing.jobs.{function}",
            str(run_id),
            job_id=run_job_id(run_id),
            job_timeout=RUN_TIMEOUT_S,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )

    def enqueue_job(self, function: str, argument: str, *, job_id: str, timeout_s: int) -> None:
        """Put one job of another package (``reports.jobs...``) on the default queue.

        Args:
            function: dotted path of the job function.
            argument: its one string argument (a record id).
            job_id: unique per record, so enqueueing twice is harmless.
            timeout_s: how long the job may run.
        """
        self._queue(DEFAULT).enqueue(
            function,
            argument,
            job_id=job_id,
            job_timeout=timeout_s,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )

    def cancel_queued(self, run_id: uuid.UUID) -> None:
        """Take a run's job off its queue (nothing happens if it has no job any more)."""
        with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
            job = Job.fetch(run_job_id(run_id), connection=self._redis, serializer=JSONSerializer)
            job.cancel()

    def stop_running(self, run_id: uuid.UUID) -> None:
        """Ask the worker executing a run to stop it (RQ ``send_stop_job_command``)."""
        with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
            send_stop_job_command(self._redis, run_job_id(run_id), serializer=JSONSerializer)

    def is_alive(self, run_id: uuid.UUID, now: dt.datetime) -> bool:
        """True while a run's job is waiting, or executing with a recent worker heartbeat."""
        try:
            job = Job.fetch(run_job_id(run_id), connection=self._redis, serializer=JSONSerializer)
            status = job.get_status()
        except NoSuchJobError:
            return False
        if status not in _LIVE:
            return False
        if status != JobStatus.STARTED:
            return True
        if job.worker_name and not self._worker_alive(job.worker_name):
            return False
        beat = job.last_heartbeat
        if beat is None:
            return True
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=dt.UTC)
        return (now - beat).total_seconds() < HEARTBEAT_STALE_S

    def _worker_alive(self, name: str) -> bool:
        """False when the worker is gone: unregistered, or a dead process on this host.

        A worker on another machine is taken as alive; its heartbeat decides.
        """
        key = Worker.redis_worker_namespace_prefix + name
        worker = Worker.find_by_key(key, connection=self._redis, serializer=JSONSerializer)
        if worker is None:
            return False
        if worker.hostname != socket.gethostname() or not worker.pid:
            return True
        try:
            os.kill(worker.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
