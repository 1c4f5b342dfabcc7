"""Identity: who is acting, and the pure permission checks on it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from lims.errors import PermissionDeniedError


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated person, with the request context their actions are recorded with."""

    user_id: uuid.UUID
    username: str
    display_name: str
    is_admin: bool = False
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def printed_name(self) -> str:
        """The name shown in audit trails and signature manifestations."""
        return f"{self.display_name} ({self.username})"


def require_admin(identity: Identity, action: str) -> None:
    """Refuse ``action`` unless the identity is an administrator.

    Raises:
        PermissionDeniedError: naming the action.
    """
    if not identity.is_admin:
        raise PermissionDeniedError(f"only an administrator may {action}")
