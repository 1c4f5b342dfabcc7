"""Error objects of ``/api/v1``: ``{"error": {"code", "message", "details"}}``, never HTML.

Every failure under the API answers with this one shape, whatever raised it: a service's
``UserError``, a request the API could not parse, an HTTP error from routing, or a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from lims.errors import CtvaultError, IntegrityCheckError, UserError
from lims.web.errors import status_for

logger = logging.getLogger(__name__)

BAD_REQUEST = 400
UNPROCESSABLE = 422
SERVER_ERROR = 500
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "server_error",
    503: "unavailable",
    507: "store_full",
}


class RequestError(UserError):
    """A request the API refuses before any service ran; nothing was changed.

    ``details`` lists what is wrong, one ``{"field", "problem"}`` per field.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = BAD_REQUEST,
        details: Sequence[dict[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = list(details)


def error_body(status: int, message: str, details: Sequence[dict[str, str]] = ()) -> Response:
    """The JSON error object for ``status`` with a one-line message."""
    response = jsonify(
        error={"code": CODES.get(status, "error"), "message": message, "details": list(details)}
    )
    response.status_code = status
    return response


def _problem(error: RequestError) -> Response:
    return error_body(error.status, str(error), error.details)


def _user_error(error: UserError) -> Response:
    return error_body(status_for(error), str(error))


def _http_error(error: HTTPException) -> Response:
    status = error.code or SERVER_ERROR
    if isinstance(error, InternalServerError):
        return _unexpected(error)
    response = error_body(status, error.description or error.name)
    if hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _integrity(error: IntegrityCheckError) -> Response:
    logger.error("integrity failure: %s", error)
    return error_body(
        SERVER_ERROR,
        f"{error} This is a data-integrity incident: tell the system administrator.",
    )


def _unexpected(error: BaseException) -> Response:
    logger.error("unexpected error in the API", exc_info=error)
    return error_body(SERVER_ERROR, "Something went wrong on the server; nothing was changed.")


def _ctvault_error(error: CtvaultError) -> Response:
    return _unexpected(error)


HANDLERS: tuple[tuple[type[Exception], Any], ...] = (
    (RequestError, _problem),
    (UserError, _user_error),
    (IntegrityCheckError, _integrity),
    (CtvaultError, _ctvault_error),
    (HTTPException, _http_error),
    (Exception, _unexpected),
)
