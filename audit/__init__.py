"""The hash-chained, append-only audit trail: record, verify, query, export."""

from audit.models import AuditEvent
from audit.recorder import Actor, EventDraft, RecordedEvent, record

__all__ = ["Actor", "AuditEvent", "EventDraft", "RecordedEvent", "record"]
