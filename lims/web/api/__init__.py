"""``/api/v1``: the JSON API, authenticated by API tokens only (one module per resource).

Scripts send ``Authorization: Bearer <token>``; the session cookie is never accepted here,
so these endpoints need no CSRF token. A read-scope token is refused on anything but
GET/HEAD (403). Every answer is JSON, failures included (``problems``); the OpenAPI 3.1
document at ``/api/v1/openapi.json`` is built from the same declarations as the routes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, Response, current_app, request
from pydantic import RootModel
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from lims.web.api import (
    analyses,
    audit,
    datasets,
    files,
    me,
    projects,
    runs,
    search,
    workflows,
)
from lims.web.api.openapi import build_document
from lims.web.api.parsing import render
from lims.web.api.problems import HANDLERS
from lims.web.api.routing import ANY_PATH, blueprint, operation
from lims.web.auth.guard import bearer_only

__all__ = ["RESOURCES", "blueprint"]

RESOURCES = (analyses, audit, datasets, files, me, projects, runs, search, workflows)
_DOCUMENT = "ctvault_openapi"
_SHADOW = "ctvault_api_routes"
_UNKNOWN = "api.unknown"
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class Document(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


@operation("/openapi.json", tag="meta", response=Document)
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    document = current_app.extensions.get(_DOCUMENT)
    if document is None:
        document = build_document(current_app)
        current_app.extensions[_DOCUMENT] = document
    return render(Document(document))


def _declared_routes(app: Flask) -> Map:
    """The API's own rules alone, to tell an unknown path (404) from a wrong method (405)."""
    routes = app.extensions.get(_SHADOW)
    if routes is None:
        routes = Map(
            [
                Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods)
                for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith("api.") and rule.endpoint != _UNKNOWN
            ]
        )
        app.extensions[_SHADOW] = routes
    return routes


@bearer_only
def unknown(path: str = "") -> Response:  # noqa: ARG001 - the rule's catch-all argument
    """Anything else under ``/api/v1``: a JSON 404 or 405, never an HTML page."""
    adapter = _declared_routes(current_app).bind("localhost")
    # MethodNotAllowed carries the Allow header; a slash too many is no redirect here.
    with contextlib.suppress(RequestRedirect):
        adapter.match(request.path, method=request.method)
    raise NotFound(f"no such API endpoint: {request.method} {request.path}")


blueprint.add_url_rule(
    "/", _UNKNOWN.removeprefix("api."), unknown, methods=_ANY_METHOD, strict_slashes=False
)
blueprint.add_url_rule(
    f"/<{ANY_PATH}:path>", _UNKNOWN.removeprefix("api."), unknown, methods=_ANY_METHOD
)
for _kind, _handler in HANDLERS:
    blueprint.register_error_handler(_kind, _handler)
