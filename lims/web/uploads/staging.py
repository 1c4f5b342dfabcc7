"""Upload batches in Redis: which blobs a browser upload has staged, for whom, until when.

A batch is opened with its target (sample, dataset name, reason) before any byte is sent.
Each uploaded file adds ``path -> (sha256, size, is_new)`` to the batch. The batch is
*claimed* exactly once, by whoever removes it from the index sorted set first: the commit,
a cancel, or the sweeper that cleans up batches nobody finished. The claimer alone decides
what happens to the staged blobs, so a batch is never both committed and discarded.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import uuid

from redis import Redis

from lims.errors import ConflictError, NotFoundError
from lims.services.ingest import StagedFile
from lims.storage.blobstore import StoredBlob

KEY_PREFIX = "ctvault:upload:"
INDEX_KEY = "ctvault:uploads"
DEFAULT_TTL_S = 24 * 3600
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclasses.dataclass(frozen=True, slots=True)
class UploadBatch:
    """An open browser upload: its owner, target and expiry (UNIX seconds)."""

    id: str
    user_id: uuid.UUID
    sample_id: uuid.UUID
    dataset: str
    reason: str
    expires_at: float


class UploadStaging:
    """Open, fill, list and claim upload batches kept in Redis."""

    def __init__(self, redis: Redis[bytes], *, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    def open(
        self, *, user_id: uuid.UUID, sample_id: uuid.UUID, dataset: str, reason: str, now: float
    ) -> UploadBatch:
        """Start a batch that expires ``ttl_s`` seconds from ``now``."""
        batch = UploadBatch(
            id=secrets.token_urlsafe(18),
            user_id=user_id,
            sample_id=sample_id,
            dataset=dataset,
            reason=reason,
            expires_at=now + self._ttl_s,
        )
        meta: dict[str | bytes, str] = {
            "user_id": str(user_id),
            "sample_id": str(sample_id),
            "dataset": dataset,
            "reason": reason,
            "expires_at": repr(batch.expires_at),
        }
        # Keys outlive the logical expiry so the sweeper can still read the staged digests.
        key_ttl_s = 2 * self._ttl_s
        pipe = self._redis.pipeline()
        pipe.hset(self._meta_key(batch.id), mapping=meta)
        pipe.expire(self._meta_key(batch.id), key_ttl_s)
        pipe.zadd(INDEX_KEY, {batch.id: batch.expires_at})
        pipe.execute()
        return batch

    def get(self, batch_id: str, user_id: uuid.UUID) -> UploadBatch:
        """An open batch of this user.

        Raises:
            NotFoundError: unknown, finished, expired, or someone else's batch.
        """
        missing = NotFoundError("this upload is unknown or finished; start the upload again")
        if not _BATCH_ID.fullmatch(batch_id) or self._redis.zscore(INDEX_KEY, batch_id) is None:
            raise missing
        raw = self._redis.hgetall(self._meta_key(batch_id))
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        if not meta or meta["user_id"] != str(user_id):
            raise missing
        return UploadBatch(
            id=batch_id,
            user_id=user_id,
            sample_id=uuid.UUID(meta["sample_id"]),
            dataset=meta["dataset"],
            reason=meta["reason"],
            expires_at=float(meta["expires_at"]),
        )

    def is_open(self, batch_id: str) -> bool:
        """True until the batch is claimed."""
        return self._redis.zscore(INDEX_KEY, batch_id) is not None

    def add(self, batch_id: str, staged: StagedFile) -> None:
        """Record a staged file in the batch.

        Raises:
            ConflictError: the batch already has a file with this path.
        """
        value = json.dumps(
            {
                "sha256": staged.blob.sha256,
                "size": staged.blob.size_bytes,
                "new": staged.blob.is_new,
            }
        )
        key = self._files_key(batch_id)
        if not self._redis.hsetnx(key, staged.path, value):
            raise ConflictError(f"this upload already has a file {staged.path!r}")
        self._redis.expire(key, 2 * self._ttl_s)

    def files(self, batch_id: str) -> list[StagedFile]:
        """The staged files of a batch, by path."""
        raw = self._redis.hgetall(self._files_key(batch_id))
        staged = []
        for path, value in raw.items():
            item = json.loads(value)
            blob = StoredBlob(sha256=item["sha256"], size_bytes=item["size"], is_new=item["new"])
            staged.append(StagedFile(path.decode(), blob))
        return sorted(staged, key=lambda s: s.path)

    def total_bytes(self, batch_id: str) -> int:
        """Bytes staged so far in a batch."""
        return sum(s.blob.size_bytes for s in self.files(batch_id))

    def claim(self, batch_id: str) -> bool:
        """Take the batch out of the index; True for the one caller that did."""
        return bool(self._redis.zrem(INDEX_KEY, batch_id))

    def forget(self, batch_id: str) -> None:
        """Delete a claimed batch's keys."""
        self._redis.delete(self._meta_key(batch_id), self._files_key(batch_id))

    def expired(self, now: float, limit: int = 20) -> list[str]:
        """Ids of batches past their expiry (not yet claimed)."""
        found = self._redis.zrangebyscore(INDEX_KEY, "-inf", now, start=0, num=limit)
        return [item.decode() for item in found]

    @staticmethod
    def _meta_key(batch_id: str) -> str:
        return f"{KEY_PREFIX}{batch_id}:meta"

    @staticmethod
    def _files_key(batch_id: str) -> str:
        return f"{KEY_PREFIX}{batch_id}:files"
