"""Append one event to the chain inside the caller's transaction (invariant 2)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from audit.chain import canonical_json

# Any constant works; it only has to be the same for every writer of the chain (it is also
# written into migration 0008, which appends under it).
CHAIN_LOCK_KEY = 0x63747661756C74  # "ctvault"
_APPEND = text(
    "SELECT seq, occurred_at, prev_hash, hash FROM ctvault_audit_append("
    ":actor_id, :actor_name, :action, :object_type, :object_id, :changes, :reason, :context)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the user id (None for the system) and the printed name at that time."""

    user_id: uuid.UUID | None
    name: str
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def system(cls, what: str = "ctvault") -> Actor:
        """The system itself acting (migrations, scheduled jobs)."""
        return cls(user_id=None, name=f"system:{what}", context={"via": "system"})


@dataclasses.dataclass(frozen=True, slots=True)
class EventDraft:
    """What a service knows about an event before it is chained."""

    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedEvent:
    """Where an event landed in the chain."""

    seq: int
    occurred_at: dt.datetime
    prev_hash: str
    hash: str


def record(session: Session, actor: Actor, draft: EventDraft) -> RecordedEvent:
    """Chain and insert one event in the session's current transaction.

    The database function ``ctvault_audit_append`` serialises writers with a
    transaction-scoped advisory lock (so concurrent transactions make one linear chain),
    stamps the time from the database clock, and computes the hash of the canonical line;
    the application role has no other way to write an event.
    """
    session.flush()
    row = session.execute(
        _APPEND,
        {
            "actor_id": actor.user_id,
            "actor_name": actor.name,
            "action": draft.action,
            "object_type": draft.object_type,
            "object_id": draft.object_id,
            "changes": canonical_json(draft.changes),
            "reason": draft.reason,
            "context": canonical_json(actor.context),
        },
    ).one()
    return RecordedEvent(row.seq, row.occurred_at, row.prev_hash, row.hash)
