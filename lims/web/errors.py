"""Map ctvault errors and HTTP errors to responses: a friendly page, or JSON for scripts."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from lims.auth.ldap import DirectoryUnavailableError
from lims.errors import (
    AuthenticationError,
    ConflictError,
    CtvaultError,
    IntegrityCheckError,
    NotFoundError,
    PermissionDeniedError,
    UserError,
)
from lims.storage.errors import StoreFullError
from lims.web.uploads.batches import UploadTooLargeError

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[UserError], int], ...] = (
    (DirectoryUnavailableError, 503),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
    (AuthenticationError, 401),
    (StoreFullError, 507),
    (UploadTooLargeError, 413),
)
BAD_REQUEST = 400
SERVER_ERROR = 500
JSON_BLUEPRINTS = frozenset({"uploads", "api"})


def status_for(error: UserError) -> int:
    """The HTTP status of a user error (400 unless a subclass says otherwise)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return BAD_REQUEST


def wants_json() -> bool:
    """True for script endpoints and clients that prefer JSON over HTML."""
    if request.blueprint in JSON_BLUEPRINTS:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(message: str, status: int, title: str | None = None) -> tuple[Response, int]:
    """A JSON body or the error page carrying a one-line message."""
    if wants_json():
        response = jsonify(error=message)
    else:
        page = render_template("error.html", status=status, title=title, message=message)
        response = Response(page, mimetype="text/html")
    response.status_code = status
    return response, status


def _user_error(error: UserError) -> tuple[Response, int]:
    return error_response(str(error), status_for(error))


def _integrity_failure(error: IntegrityCheckError) -> tuple[Response, int]:
    logger.error("integrity failure: %s", error)
    return error_response(
        f"{error} This is a data-integrity incident: tell the system administrator.",
        SERVER_ERROR,
        "Integrity incident",
    )


def _ctvault_error(error: CtvaultError) -> tuple[Response, int]:
    logger.error("unexpected ctvault error", exc_info=error)
    return error_response(str(error), SERVER_ERROR)


def _http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or SERVER_ERROR
    if isinstance(error, InternalServerError):
        message = "Something went wrong on the server; nothing was changed."
    else:
        message = error.description or error.name
    return error_response(message, status, error.name)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(UserError, _user_error)
    app.register_error_handler(IntegrityCheckError, _integrity_failure)
    app.register_error_handler(CtvaultError, _ctvault_error)
    app.register_error_handler(HTTPException, _http_error)
