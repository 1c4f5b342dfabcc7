"""Errors of report generation and verification; each says what is wrong and changes nothing."""

from __future__ import annotations

from lims.errors import UserError


class CertificateError(UserError):
    """The institution's seal certificate is missing, expired or unusable."""


class SealError(UserError):
    """A PDF's seal is missing, broken, untrusted or does not cover the whole file."""
