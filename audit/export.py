"""Export audit events to CSV: one row per event, changes as readable ``old → new`` text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from audit.chain import format_time
from audit.query import EventView

CSV_COLUMNS = (
    "seq", "occurred_at_utc", "actor", "actor_id", "action", "object_type", "object_id",
    "changes", "reason", "context", "hash",
)  # fmt: skip


def csv_lines(events: Iterable[EventView]) -> Iterator[str]:
    """The CSV text of the events, header first, one chunk per row (for streaming)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield _take(buffer)
    for event in events:
        writer.writerow(
            (
                event.seq,
                format_time(event.occurred_at),
                event.actor_name,
                str(event.actor_id or ""),
                event.action,
                event.object_type,
                event.object_id,
                "; ".join(event.change_lines()),
                event.reason,
                json.dumps(event.context, ensure_ascii=False, sort_keys=True),
                event.hash,
            )
        )
        yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def jsonl_lines(events: Iterable[EventView]) -> Iterator[str]:
    """One JSON object per line with exactly the hashed fields plus ``hash``.

    This is the form a third party re-verifies with their own code (docs/audit.md).
    """
    for event in events:
        fields = {
            "seq": event.seq,
            "occurred_at": format_time(event.occurred_at),
            "actor_id": str(event.actor_id) if event.actor_id else None,
            "actor_name": event.actor_name,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "changes": event.changes,
            "reason": event.reason,
            "context": event.context,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
        yield json.dumps(fields, ensure_ascii=False, sort_keys=True) + "\n"
