"""Canonical encoding of an audit event and its link hash (pure; no database).

An event's hash is ``sha256(canonical_bytes(event))``. ``canonical_bytes`` is the UTF-8 JSON
object of the hashed fields with keys sorted, no insignificant whitespace and non-ASCII kept
as is (Python: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``). ``occurred_at`` is ISO 8601 in UTC with microseconds and ``+00:00``;
``actor_id`` is the user's UUID string or null; ``changes`` and ``context`` are JSON objects;
``prev_hash`` is the previous event's hash, 64 zeros for the first event. docs/audit.md
shows a verifier to copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "action", "actor_id", "actor_name", "changes", "context", "object_id", "object_type",
    "occurred_at", "prev_hash", "reason", "seq",
)  # fmt: skip
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_encode = _ENCODER.encode


def canonical_json(value: object) -> str:
    """Serialise plain JSON data deterministically (sorted keys, compact, non-ASCII kept)."""
    return _encode(value)


def format_time(moment: dt.datetime) -> str:
    """The one textual form of a time inside a hash: UTC, microseconds, ``+00:00``."""
    if moment.tzinfo is None:
        msg = "audit times carry a zone"
        raise ValueError(msg)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed for one event (the reference definition)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return canonical_json(payload).encode("utf-8")


def event_hash(fields: Mapping[str, Any]) -> str:
    """Return the link hash of one event given its hashed fields (plain JSON values)."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def row_hash(
    *,
    seq: int,
    occurred_at: str,
    actor_id: str | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    changes_json: str,
    reason: str,
    context_json: str,
    prev_hash: str,
) -> str:
    """The same hash as ``event_hash``, built from stored text without parsing JSON.

    ``changes_json`` and ``context_json`` are the stored canonical texts; this is the fast
    path of verification (about a million events in a few seconds).
    """
    line = (
        f'{{"action":{_encode(action)},"actor_id":{_encode(actor_id)},'
        f'"actor_name":{_encode(actor_name)},"changes":{changes_json},'
        f'"context":{context_json},"object_id":{_encode(object_id)},'
        f'"object_type":{_encode(object_type)},"occurred_at":"{occurred_at}",'
        f'"prev_hash":"{prev_hash}","reason":{_encode(reason)},"seq":{seq}}}'
    )
    return hashlib.sha256(line.encode("utf-8")).hexdigest()
