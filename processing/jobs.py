"""RQ entry points: thin, idempotent, string ids in; all logic lives below them."""

from __future__ import annotations

import uuid

from processing import context
from processing.preparation import prepare


def prepare_version(version_id: str) -> str:
    """Build the canonical array and previews of one version; safe to run twice."""
    return prepare(context.resources(), uuid.UUID(version_id))
