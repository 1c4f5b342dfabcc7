"""Every /api/v1 route is checked: no token 401, no access 403/404, read-only changes nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.models import Note, Project, Sample
from tests.integration.api.conftest import Api, Catalogue, error_of

_ARGUMENT = re.compile(r"<(?:[a-z]+:)?(\w+)>")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# A valid body per mutating route, so a refusal is about access, not about the body.
BODIES: dict[str, dict[str, Any]] = {
    "api.create_project": {"name": "Intruder project"},
    "api.create_sample": {"name": "Intruder sample"},
    "api.add_note": {"object_type": "project", "object_id": "{project_id}", "body": "hello"},
    "api.submit_run": {"workflow_id": str(uuid.uuid4()), "version_id": "{version_id}"},
    "api.replay_run": {"reason": "check"},
    "api.cancel_run": {"reason": "stop"},
}


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every API route in the URL map."""
    return [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def _ids(catalogue: Catalogue) -> dict[str, str]:
    files = catalogue.version.files
    return {
        "project_id": str(catalogue.project_id),
        "sample_id": str(catalogue.sample_id),
        "dataset_id": str(catalogue.version.dataset_id),
        "version_id": str(catalogue.version.id),
        "file_id": str(files[0].id),
        "workflow_id": str(uuid.uuid4()),
        "run_id": str(uuid.uuid4()),
        "analysis_id": str(uuid.uuid4()),
        "path": "anything/else",
    }


def _url(rule: str, ids: dict[str, str]) -> str:
    return _ARGUMENT.sub(lambda m: ids[m.group(1)], rule)


def _body(endpoint: str, ids: dict[str, str]) -> dict[str, Any] | None:
    body = BODIES.get(endpoint)
    if body is None:
        return None
    return {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}


def _changes(uow: UnitOfWork) -> tuple[int, ...]:
    session = uow.session
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Project, Sample, Note)
    )


def test_every_mutating_route_has_a_valid_body_here(app: Flask) -> None:
    mutating = {endpoint for endpoint, method, _ in _routes(app) if method in WRITES}
    assert mutating - {"api.unknown"} == set(BODIES), "add the new route to BODIES"


@pytest.mark.req("P11-06")
def test_every_api_route_refuses_a_request_without_a_token(
    app: Flask, catalogue: Catalogue, uow: UnitOfWork
) -> None:
    routes = _routes(app)
    assert len(routes) > 20
    client = app.test_client()
    ids = _ids(catalogue)
    before = _changes(uow)
    for endpoint, method, rule in routes:
        for headers in ({}, {"Authorization": "Bearer ctv_forged"}, {"Authorization": "Basic x"}):
            response = client.open(
                _url(rule, ids), method=method, json=_body(endpoint, ids), headers=headers
            )
            assert response.status_code == 401, (endpoint, method, headers)
            assert error_of(response)["code"] == "unauthorized"
    assert _changes(uow) == before


@pytest.mark.req("P11-06")
def test_a_user_without_access_to_the_project_gets_nothing_of_it(
    api_for: Any, outsider: Identity, catalogue: Catalogue, uow: UnitOfWork
) -> None:
    api: Api = api_for(outsider)
    ids = _ids(catalogue)
    before = _changes(uow)
    for endpoint, method, rule in _routes(api.client.application):
        if "<" not in rule or endpoint in {"api.unknown", "api.get_workflow"}:
            continue
        response = api.call(method, _url(rule, ids), json=_body(endpoint, ids))
        assert response.status_code in {403, 404}, (endpoint, method, response.status_code)
        assert error_of(response)["code"] in {"forbidden", "not_found"}
    assert _changes(uow) == before
    secrets = {ids[k] for k in ("project_id", "sample_id", "dataset_id", "version_id", "file_id")}
    for endpoint, method, rule in _routes(api.client.application):
        if "<" in rule or method != "GET" or endpoint == "api.openapi_document":
            continue
        text = api.get(rule).get_data(as_text=True)
        assert not {s for s in secrets if s in text}, f"{endpoint} shows Battery's records"
    names = [p["name"] for p in api.get("/api/v1/projects").get_json()["items"]]
    assert names == ["Secret alloy"], "another project's records are not even listed"
    assert api.get("/api/v1/runs").get_json()["items"] == []
    assert api.get("/api/v1/audit").status_code == 403


@pytest.mark.req("DI-10")
def test_read_scope_tokens_are_refused_on_every_mutating_route(
    api_for: Any, scientist: Identity, catalogue: Catalogue, uow: UnitOfWork
) -> None:
    api: Api = api_for(scientist, "read")
    ids = _ids(catalogue)
    before = _changes(uow)
    for endpoint, method, rule in _routes(api.client.application):
        if method not in WRITES or endpoint == "api.unknown":
            continue
        response = api.call(method, _url(rule, ids), json=_body(endpoint, ids))
        assert response.status_code == 403, (endpoint, response.get_data(as_text=True))
        assert "read scope" in error_of(response)["message"]
    assert _changes(uow) == before


@pytest.mark.req("DI-10")
def test_the_inspector_reads_everything_and_changes_nothing(
    api_for: Any, auditor: Identity, catalogue: Catalogue, uow: UnitOfWork
) -> None:
    inspector: Api = api_for(auditor)  # even with a write-scope token
    ids = _ids(catalogue)
    assert inspector.get(f"/api/v1/projects/{ids['project_id']}").status_code == 200
    assert inspector.get(f"/api/v1/files/{ids['file_id']}/content").status_code == 200
    trail = inspector.get("/api/v1/audit", limit=500).get_json()["items"]
    assert {"project.create", "sample.create", "version.create"} <= {e["action"] for e in trail}
    before = _changes(uow)
    for endpoint in ("api.create_project", "api.create_sample", "api.add_note"):
        rule = next(r for e, m, r in _routes(inspector.client.application) if e == endpoint)
        response = inspector.post(_url(rule, ids), json=_body(endpoint, ids))
        assert response.status_code == 403, (endpoint, response.get_data(as_text=True))
        assert error_of(response)["code"] == "forbidden"
    assert _changes(uow) == before
