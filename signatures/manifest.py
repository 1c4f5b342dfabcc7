"""The signature manifest: the canonical statement ctvault's key signs (pure).

A manifest names the signer (id, user id, printed name), the meaning and reason, the UTC
time from the database clock, the record (type, id, content SHA-256) and the key. Its bytes
are the canonical JSON of those fields; docs/signatures.md shows how to check one offline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from audit.chain import canonical_json, format_time

MANIFEST_VERSION = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    """Everything a signature binds together."""

    signature_id: uuid.UUID
    record_type: str
    record_id: str
    content_sha256: str
    meaning: str
    reason: str
    signer_id: uuid.UUID
    signer_username: str
    printed_name: str
    signed_at: dt.datetime
    key_id: str

    def to_json(self) -> str:
        """The canonical text that is signed and stored."""
        return canonical_json(self.fields())

    def fields(self) -> dict[str, Any]:
        """The manifest as plain JSON values."""
        return {
            "v": MANIFEST_VERSION,
            "signature_id": str(self.signature_id),
            "record_type": self.record_type,
            "record_id": self.record_id,
            "content_sha256": self.content_sha256,
            "meaning": self.meaning,
            "reason": self.reason,
            "signer_id": str(self.signer_id),
            "signer_username": self.signer_username,
            "printed_name": self.printed_name,
            "signed_at": format_time(self.signed_at),
            "key_id": self.key_id,
        }


def parse_manifest(text: str) -> dict[str, Any]:
    """The fields of a stored manifest; ValueError when it is not canonical JSON."""
    fields = json.loads(text)
    if not isinstance(fields, dict) or canonical_json(fields) != text:
        raise ValueError("manifest is not canonical JSON")
    return fields
