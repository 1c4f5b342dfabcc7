"""The audit trail for its reviewers, and the history of one record for anyone who sees it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Literal

from flask import Response
from pydantic import AwareDatetime, BaseModel, Field

from audit.query import AuditFilter, EventView
from lims.services import audit_trail
from lims.web import context
from lims.web.api.pagination import PageQuery, decode_cursor, encode_cursor, paginate
from lims.web.api.parsing import parse_query, render
from lims.web.api.problems import RequestError
from lims.web.api.routing import operation
from lims.web.api.schemas import Page, Text

TAG = "audit"


class EventOut(BaseModel):
    """One audit event: who, when (UTC), what changed from what to what, why; hash-chained."""

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
    prev_hash: str

    @classmethod
    def of(cls, event: EventView) -> EventOut:
        """The API view of an audit event."""
        return cls(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            actor_name=event.actor_name,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            changes=event.changes,
            reason=event.reason,
            context=event.context,
            hash=event.hash,
            prev_hash=event.prev_hash,
        )


class AuditQuery(PageQuery):
    """What to narrow the trail down to; empty matches everything. Newest first."""

    actor: Text = Field("", max_length=300, description="Part of the actor's printed name.")
    action: Text = Field("", max_length=100, description="Start of the action, e.g. 'sample.'.")
    object_type: Text = Field("", max_length=50)
    object_id: Text = Field("", max_length=100)
    since: AwareDatetime | None = Field(None, description="From this time (inclusive).")
    until: AwareDatetime | None = Field(None, description="Before this time (exclusive).")


def _criteria(query: AuditQuery, snapshot: dt.datetime | None) -> AuditFilter:
    until = query.until
    if snapshot is not None and (until is None or snapshot < until):
        until = snapshot
    return AuditFilter(
        actor=query.actor,
        action=query.action,
        object_type=query.object_type,
        object_id=query.object_id,
        since=query.since,
        until=until,
    )


@operation("/audit", tag=TAG, response=Page[EventOut], query=AuditQuery, errors=(400, 403, 422))
def list_events() -> Response:
    """Audit events matching the filters, newest first (audit reviewers only).

    The first page fixes the end of the list: later events do not shift the next pages.
    """
    query = parse_query(AuditQuery)
    if query.since and query.until and query.until <= query.since:
        raise RequestError(
            "until must be later than since",
            details=[{"field": "query.until", "problem": "not after since"}],
        )
    ctx = context.service_context()
    scope = "audit:" + json.dumps(query.model_dump(mode="json", exclude={"cursor"}), sort_keys=True)
    offset, snapshot = 0, context.resources().clock.now()
    if query.cursor is not None:
        offset, taken = decode_cursor(scope, query.cursor)
        snapshot = dt.datetime.fromisoformat(taken)
    events, total = audit_trail.search_audit(
        ctx, _criteria(query, snapshot), page=offset // query.limit + 1, per_page=query.limit
    )
    after = offset + len(events)
    cursor = encode_cursor(scope, (after, snapshot.isoformat())) if after < total else None
    return render(Page[EventOut](items=[EventOut.of(e) for e in events], next_cursor=cursor))


class HistoryQuery(PageQuery):
    """The record whose history to list."""

    object_type: Literal["project", "sample", "dataset", "dataset_version", "version_file"]
    object_id: uuid.UUID


@operation("/history", tag=TAG, response=Page[EventOut], query=HistoryQuery, errors=(400, 404, 422))
def record_history() -> Response:
    """Who did what to one record you may see, when and why, oldest first."""
    query = parse_query(HistoryQuery)
    found = audit_trail.record_history(
        context.service_context(), query.object_type, str(query.object_id)
    )
    items, cursor = paginate(
        found, lambda e: (e.seq,), query, f"history:{query.object_type}:{query.object_id}"
    )
    return render(Page[EventOut](items=[EventOut.of(e) for e in items], next_cursor=cursor))
