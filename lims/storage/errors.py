"""Errors of the blob store, each with a message a user can act on."""

from __future__ import annotations

from lims.errors import IntegrityCheckError, UserError


class StoreFullError(UserError):
    """The store's file system has no room left; nothing was stored."""


class SourceReadError(UserError):
    """A source file could not be read completely; nothing was stored."""


class BlobMissingError(IntegrityCheckError):
    """A blob the database references is not in the store."""
