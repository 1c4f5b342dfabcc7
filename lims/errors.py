"""Error types shared by every package; user-facing errors guarantee nothing changed."""

from __future__ import annotations


class CtvaultError(Exception):
    """Base class of every error ctvault raises on purpose."""


class UserError(CtvaultError):
    """A request that cannot be carried out; the message says why and nothing was changed."""


class NotFoundError(UserError):
    """The named record does not exist (or is not visible to the caller)."""


class ConflictError(UserError):
    """The request conflicts with the current state (duplicate name, wrong order of steps)."""


class PermissionDeniedError(UserError):
    """The caller is not allowed to do this."""


class AuthenticationError(UserError):
    """The user id or password is wrong, or the account cannot log in."""


class ConfigurationError(UserError):
    """The settings are incomplete or contradictory."""


class IntegrityCheckError(CtvaultError):
    """Stored bytes or records do not match their digests."""
