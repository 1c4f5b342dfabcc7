"""Read the audit trail: filtered, paged searches and the history of one record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an auditor narrows the trail down to; empty fields match everything."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query-string parameters (for links and exports)."""
        params = {
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in params.items() if v}


@dataclasses.dataclass(frozen=True, slots=True)
class EventView:
    """One event in plain values, as review pages and exports show it."""

    seq: int
    occurred_at: dt.datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
    reason: str
    context: dict[str, Any]
    hash: str
    prev_hash: str = ""

    def change_lines(self) -> list[str]:
        """``field: old → new`` for each changed field (plain values shown as they are)."""
        lines = []
        for field, value in sorted(self.changes.items()):
            if isinstance(value, list) and len(value) == 2:  # noqa: PLR2004 - [old, new]
                lines.append(f"{field}: {_show(value[0])} → {_show(value[1])}")
            else:
                lines.append(f"{field}: {_show(value)}")
        return lines


def _show(value: object) -> str:
    if value is None:
        return "—"
    if value == "":
        return "(empty)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _view(event: AuditEvent) -> EventView:
    return EventView(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        changes=json.loads(event.changes),
        reason=event.reason,
        context=json.loads(event.context),
        hash=event.hash,
        prev_hash=event.prev_hash,
    )


def _filtered(criteria: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if criteria.actor:
        query = query.where(AuditEvent.actor_name.ilike(f"%{_like(criteria.actor)}%"))
    if criteria.action:
        query = query.where(AuditEvent.action.like(f"{_like(criteria.action)}%"))
    if criteria.object_type:
        query = query.where(AuditEvent.object_type == criteria.object_type)
    if criteria.object_id:
        query = query.where(AuditEvent.object_id == criteria.object_id)
    if criteria.since:
        query = query.where(AuditEvent.occurred_at >= criteria.since)
    if criteria.until:
        query = query.where(AuditEvent.occurred_at < criteria.until)
    return query


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session, criteria: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[EventView], int]:
    """A page of matching events, newest first, and the total number that match."""
    total = session.scalar(select(func.count()).select_from(_filtered(criteria).subquery()))
    rows = session.scalars(
        _filtered(criteria).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
    )
    return [_view(row) for row in rows], total or 0


def iter_events(session: Session, criteria: AuditFilter) -> Iterator[EventView]:
    """Every matching event, oldest first, streamed (for exports)."""
    rows = session.scalars(
        _filtered(criteria).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    )
    for row in rows:
        yield _view(row)


def history(session: Session, object_type: str, object_id: str) -> list[EventView]:
    """Every event about one record, oldest first."""
    return list(iter_events(session, AuditFilter(object_type=object_type, object_id=object_id)))
