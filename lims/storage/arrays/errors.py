"""Errors of the canonical array store, each with a message a user can act on."""

from __future__ import annotations

from lims.errors import UserError


class CanonicalArrayError(UserError):
    """A request for planes or regions that the canonical array does not have."""


class NotCanonicalError(UserError):
    """The file is not a canonical array this version of ctvault can read."""
