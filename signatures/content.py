"""Content digests: SHA-256 over the canonical JSON of what a signer attests to (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from audit.chain import canonical_json


def canonical_content(content: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed for a record's content (sorted keys, compact, UTF-8)."""
    return canonical_json(dict(content)).encode("utf-8")


def content_digest(content: Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the canonical content."""
    return hashlib.sha256(canonical_content(content)).hexdigest()
