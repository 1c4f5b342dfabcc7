"""The OpenAPI 3.1 document lists exactly the routes the server has, and is valid."""

from __future__ import annotations

import re

import schemathesis
from flask import Flask

from tests.integration.api.conftest import Api

_ARGUMENT = re.compile(r"<(?:[a-z]+:)?(\w+)>")


def test_the_document_matches_the_url_map(app: Flask, api: Api) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.unknown":
            path = _ARGUMENT.sub(lambda m: "{" + m.group(1) + "}", rule.rule)
            served |= {(path, m) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_every_operation_documents_its_errors_with_the_error_object(api: Api) -> None:
    document = api.get("/api/v1/openapi.json").get_json()
    error_ref = "#/components/schemas/Error"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "401" in responses, (path, method)
            assert responses["default"]["content"]["application/json"]["schema"] == {
                "$ref": error_ref
            }
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"403", "422"} <= set(responses), (path, method)
            assert operation["summary"], (path, method)


def test_schemathesis_accepts_the_document(api: Api) -> None:
    document = api.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len([m for item in document["paths"].values() for m in item])
