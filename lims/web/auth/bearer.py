"""API tokens on requests: ``Authorization: Bearer ctv_…`` for scripts and the JSON API.

A token acts as its owner with at most its scope: a ``read`` token is refused (403) on any
method that could change something. Each use is audited by ``tokens.authenticate_token``.
"""

from __future__ import annotations

from flask import request

from lims.auth.identity import Identity
from lims.errors import AuthenticationError, PermissionDeniedError
from lims.services import tokens
from lims.web import context

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_SCOPE = "write"


def bearer_secret() -> str | None:
    """The token in the ``Authorization: Bearer`` header, if any."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def bearer_identity() -> Identity:
    """The identity of the request's bearer token.

    Raises:
        AuthenticationError: no token, or an unknown, revoked or expired one (401).
        PermissionDeniedError: a read-scope token on a method that writes (403).
    """
    secret = bearer_secret()
    if secret is None:
        raise AuthenticationError("send an API token: Authorization: Bearer <token>")
    identity, scope = tokens.authenticate_token(context.uow(), secret, context.request_info())
    if scope != WRITE_SCOPE and request.method not in READ_METHODS:
        raise PermissionDeniedError("this API token has the read scope: it cannot change data")
    return identity
