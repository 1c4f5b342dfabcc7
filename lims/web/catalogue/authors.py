"""Printed names of version authors (until the catalogue service returns them itself)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lims.services import users
from lims.web import context


def author_names(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Map each user id to its printed name; inactive accounts show their short id."""
    names: dict[uuid.UUID, str] = {}
    for user_id in set(user_ids):
        identity = users.load_identity(context.uow(), user_id, {})
        names[user_id] = (
            identity.printed_name if identity else f"user {str(user_id)[:8]} (inactive)"
        )
    return names
