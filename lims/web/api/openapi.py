"""The OpenAPI 3.1 document, built from the URL map and each endpoint's ``@operation``.

Paths come from the registered URL rules, parameters and bodies from the request models,
answers from the response models (JSON Schema 2020-12 by pydantic, which OpenAPI 3.1 uses
as is). Nothing is written by hand, so the document describes what the server does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from lims.web.api.routing import Operation, operation_of

TITLE = "ctvault API"
VERSION = "1"
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_REF = "#/components/schemas/{model}"
_PATH_TYPES = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer"},
}
UNAUTHORIZED = 401
NOT_FOUND = 404


class ErrorDetail(BaseModel):
    """One thing wrong with the request."""

    field: str
    problem: str


class ErrorBody(BaseModel):
    """A stable code, a one-line message, and per-field details."""

    code: str
    message: str
    details: list[ErrorDetail]


class Error(BaseModel):
    """Every failure answers with this object; nothing was changed."""

    error: ErrorBody


def _operations(app: Flask) -> list[tuple[Rule, Operation]]:
    found = []
    for rule in app.url_map.iter_rules():
        declared = operation_of(app.view_functions.get(rule.endpoint))
        if declared is not None:
            found.append((rule, declared))
    return sorted(found, key=lambda item: (item[0].rule, item[1].method))


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters = [
        {
            "name": match["name"],
            "in": "path",
            "required": True,
            "schema": dict(_PATH_TYPES.get(match["converter"] or "", {"type": "string"})),
        }
        for match in _RULE_ARGUMENT.finditer(rule.rule)
    ]
    return _RULE_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule), parameters


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter cannot be null: drop the null branch of an optional one."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}


def _query_parameters(ref: dict[str, str], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = defs[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        clean = _not_null(prop)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": clean}
        if "description" in clean:
            parameter["description"] = clean["description"]
        parameters.append(parameter)
    return parameters


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(
    declared: Operation, refs: Mapping[tuple[Any, JsonSchemaMode], Any], *, has_path: bool
) -> dict[str, Any]:
    error_ref = refs[(Error, "serialization")]
    answers: dict[str, Any] = {}
    if declared.binary:
        content = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        answers[str(declared.status)] = {"description": "The bytes.", "content": content}
        answers["206"] = {"description": "The requested range of the bytes.", "content": content}
    elif declared.response is not None:
        schema = refs[(declared.response, "serialization")]
        answers[str(declared.status)] = _json(schema, "Success.")
    codes = {UNAUTHORIZED, *declared.errors}
    if has_path:
        codes.add(NOT_FOUND)
    for code in sorted(codes):
        answers[str(code)] = _json(error_ref, "Refused; nothing was changed.")
    answers["default"] = _json(error_ref, "Any other error; nothing was changed.")
    return answers


def _models(operations: list[tuple[Rule, Operation]]) -> list[tuple[type[BaseModel], Any]]:
    wanted: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for _rule, declared in operations:
        for model, mode in (
            (declared.response, "serialization"),
            (declared.query, "validation"),
            (declared.body, "validation"),
        ):
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    return wanted


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/v1`` endpoint registered on ``app``."""
    operations = _operations(app)
    refs, top = models_json_schema(_models(operations), ref_template=_REF)
    defs: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for rule, declared in operations:
        path, parameters = _path(rule)
        if declared.query is not None:
            parameters += _query_parameters(refs[(declared.query, "validation")], defs)
        entry: dict[str, Any] = {
            "operationId": rule.endpoint.removeprefix("api."),
            "tags": [declared.tag],
            "summary": declared.summary,
            "parameters": parameters,
            "responses": _responses(declared, refs, has_path=bool(rule.arguments)),
        }
        if declared.description:
            entry["description"] = declared.description
        if declared.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(declared.body, "validation")]}},
            }
        paths.setdefault(path, {})[declared.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "JSON API of ctvault. Authenticate with an API token: "
            "`Authorization: Bearer ctv_...` (make one on the account's API tokens page).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
