"""Canonical encoding of an audit event and its link hash (pure; no database).

The hash of event *n* is ``sha256(canonical_bytes(fields_n))`` where ``fields_n`` includes
``prev_hash`` = the hash of event *n-1* (64 zeros for the first event). ``canonical_bytes`` is
UTF-8 JSON with keys sorted, no insignificant whitespace, non-ASCII kept as is, times as
ISO 8601 UTC with microseconds and ``+00:00``; see docs/audit.md for a verifier to copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "changes",
    "reason",
    "context",
    "prev_hash",
)


def canonical_json(value: object) -> bytes:
    """Serialise plain JSON data deterministically (sorted keys, compact, UTF-8)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_time(moment: dt.datetime) -> str:
    """The one textual form of a time inside a hash: UTC, microseconds, ``+00:00``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(fields: Mapping[str, Any]) -> str:
    """Return the link hash of one event given its hashed fields."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    if isinstance(payload["occurred_at"], dt.datetime):
        payload["occurred_at"] = format_time(payload["occurred_at"])
    if payload["actor_id"] is not None:
        payload["actor_id"] = str(payload["actor_id"])
    return hashlib.sha256(canonical_json(payload)).hexdigest()
