"""The ``/api/v1`` blueprint and ``@operation``: one declaration per endpoint.

An operation names its URL rule, method, request models and response model; the URL map and
the OpenAPI document (``lims.web.api.openapi``) are both built from that one declaration, so
they cannot drift apart. Every operation authenticates by bearer token only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from pydantic import BaseModel
from werkzeug.routing import PathConverter

from lims.web.auth.guard import bearer_only

PREFIX = "/api/v1"
OPERATION_ATTRIBUTE = "ctvault_api_operation"
ANY_PATH = "ctvault_any_path"
OK = 200
CREATED = 201

blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


class AnyPathConverter(PathConverter):
    """Any rest of a path, line breaks included (``path`` stops at them)."""

    regex = r"[^/][\s\S]*?"


def _add_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters[ANY_PATH] = AnyPathConverter


# Recorded before any rule, so the converter exists when the rules are added to the app.
blueprint.record_once(_add_converter)

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """What one endpoint takes and answers, as the OpenAPI document shows it."""

    method: str
    tag: str
    summary: str
    description: str
    response: type[BaseModel] | None
    status: int = OK
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    binary: bool = False


def operation(
    rule: str,
    *,
    method: str = "GET",
    tag: str,
    response: type[BaseModel] | None,
    status: int = OK,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
    binary: bool = False,
) -> Callable[[F], F]:
    """Register a view under ``/api/v1`` with what it takes and answers.

    Args:
        rule: the URL rule below ``/api/v1`` (werkzeug syntax, e.g. ``/projects/<uuid:id>``).
        method: the one HTTP method it answers.
        tag: the group it is listed under in the document.
        response: the model of a successful JSON answer (None with ``binary``).
        status: the status of a successful answer.
        query: the model of the query string (unknown parameters are refused).
        body: the model of the JSON body (unknown fields are refused).
        errors: the error statuses the endpoint answers on purpose (401 is implied).
        binary: the answer is a file, not JSON.

    Returns:
        The decorator, which returns the view unchanged apart from its markers.
    """

    def register(view: F) -> F:
        doc = (view.__doc__ or "").strip()
        summary, _, description = doc.partition("\n")
        setattr(
            view,
            OPERATION_ATTRIBUTE,
            Operation(
                method=method,
                tag=tag,
                summary=summary.strip(),
                description=" ".join(description.split()),
                response=response,
                status=status,
                query=query,
                body=body,
                errors=errors,
                binary=binary,
            ),
        )
        bearer_only(view)
        blueprint.add_url_rule(rule, view_func=view, methods=[method])
        return view

    return register


def operation_of(view: Callable[..., Any] | None) -> Operation | None:
    """The declaration of an API view (None for anything else)."""
    return getattr(view, OPERATION_ATTRIBUTE, None)
