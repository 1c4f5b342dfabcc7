"""Identity: who is acting, with their roles, and the pure permission checks on it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from lims.auth.roles import GLOBAL_ONLY, Permission, Role, permissions_of
from lims.errors import PermissionDeniedError


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated person, with the request context their actions are recorded with."""

    user_id: uuid.UUID
    username: str
    display_name: str
    roles: frozenset[Role] = frozenset()
    project_roles: Mapping[uuid.UUID, frozenset[Role]] = dataclasses.field(default_factory=dict)
    context: dict[str, Any] = dataclasses.field(default_factory=dict)
    via_token: bool = False
    auth_source: str = "local"

    @property
    def printed_name(self) -> str:
        """The name shown in audit trails and signature manifestations."""
        return f"{self.display_name} ({self.username})"

    @property
    def is_admin(self) -> bool:
        """True for an administrator (global role)."""
        return Role.ADMIN in self.roles

    def can(self, permission: Permission, project_id: uuid.UUID | None = None) -> bool:
        """True when a global role, or a role in ``project_id``, grants ``permission``."""
        if permission in permissions_of(self.roles):
            return True
        if project_id is None or permission in GLOBAL_ONLY:
            return False
        return permission in permissions_of(self.project_roles.get(project_id, frozenset()))

    def sees_all_projects(self) -> bool:
        """True when a global role lets the user read every project."""
        return Permission.CATALOGUE_READ in permissions_of(self.roles)

    def visible_project_ids(self) -> frozenset[uuid.UUID]:
        """The projects the user has a project role in (beyond any global role)."""
        return frozenset(pid for pid, roles in self.project_roles.items() if roles)


def require(
    identity: Identity, permission: Permission, project_id: uuid.UUID | None = None, *, action: str
) -> None:
    """Refuse unless the identity holds ``permission`` (in ``project_id`` if given).

    Raises:
        PermissionDeniedError: naming the action.
    """
    if not identity.can(permission, project_id):
        raise PermissionDeniedError(f"you are not allowed to {action}")


def require_admin(identity: Identity, action: str) -> None:
    """Refuse ``action`` unless the identity is an administrator."""
    if not identity.is_admin:
        raise PermissionDeniedError(f"only an administrator may {action}")
