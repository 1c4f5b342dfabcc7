"""Queue names and enqueueing; jobs carry string ids only, serialised as JSON."""

from __future__ import annotations

import uuid

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

DEFAULT = "default"
HEAVY = "heavy"
PREPARE_TIMEOUT_S = 6 * 3600


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
