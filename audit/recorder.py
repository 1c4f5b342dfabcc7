"""Append one event to the chain inside the caller's transaction (invariant 2)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from audit.chain import GENESIS_HASH, canonical_json, event_hash, format_time
from audit.models import AuditEvent

# Any constant works; it only has to be the same for every writer of the chain.
CHAIN_LOCK_KEY = 0x63747661756C74  # "ctvault"
_LOCK_HEAD_AND_CLOCK = text("SELECT * FROM ctvault_audit_head(:key)")


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


def record(session: Session, actor: Actor, draft: EventDraft) -> AuditEvent:
    """Chain and insert one event in the session's current transaction.

    A transaction-scoped advisory lock serialises writers, so concurrent transactions produce
    one linear chain; the time comes from the database clock after the lock is taken, so
    times never run backwards along the chain.
    """
    last_seq, last_hash, occurred_at = session.execute(
        _LOCK_HEAD_AND_CLOCK, {"key": CHAIN_LOCK_KEY}
    ).one()
    seq, prev_hash = (last_seq + 1, last_hash) if last_seq else (1, GENESIS_HASH)
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": format_time(occurred_at),
        "actor_id": str(actor.user_id) if actor.user_id else None,
        "actor_name": actor.name,
        "action": draft.action,
        "object_type": draft.object_type,
        "object_id": draft.object_id,
        "changes": draft.changes,
        "reason": draft.reason,
        "context": actor.context,
        "prev_hash": prev_hash,
    }
    event = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor.user_id,
        actor_name=actor.name,
        action=draft.action,
        object_type=draft.object_type,
        object_id=draft.object_id,
        changes=canonical_json(draft.changes),
        reason=draft.reason,
        context=canonical_json(actor.context),
        prev_hash=prev_hash,
        hash=event_hash(fields),
    )
    session.add(event)
    session.flush()
    return event
