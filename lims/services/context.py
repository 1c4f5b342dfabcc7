"""ServiceContext: what every use case receives (unit of work, identity, store, settings)."""

from __future__ import annotations

import dataclasses

from audit import Actor, EventDraft, record
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from processing.queues import JobQueue


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceContext:
    """One caller's view of ctvault for one unit of work."""

    uow: UnitOfWork
    identity: Identity | None
    blobstore: BlobStore
    settings: Settings
    queues: JobQueue | None = None

    def require_identity(self) -> Identity:
        """The acting user; services that change records need one."""
        if self.identity is None:
            raise AuthenticationError("log in first")
        return self.identity

    def actor(self) -> Actor:
        """The audit actor for the current identity."""
        identity = self.require_identity()
        return Actor(identity.user_id, identity.printed_name, dict(identity.context))

    def audit(self, draft: EventDraft) -> None:
        """Record an audit event in this unit of work's transaction."""
        record(self.uow.session, self.actor(), draft)
