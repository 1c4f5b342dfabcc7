"""Bad input gets a clear JSON error object (never HTML, never a 500) and changes nothing."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import func, select

from audit import AuditEvent
from lims.db.uow import UnitOfWork
from lims.models import Project, Sample
from lims.web.auth.guard import bearer_only
from tests.integration.api.conftest import Api, Catalogue, error_of


def _state(uow: UnitOfWork) -> tuple[int, int, int]:
    session = uow.session
    return (
        session.scalar(select(func.count()).select_from(Project)) or 0,
        session.scalar(select(func.count()).select_from(Sample)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


@pytest.fixture
def samples_url(catalogue: Catalogue) -> str:
    return f"/api/v1/projects/{catalogue.project_id}/samples"


@pytest.mark.req("P11-06")
def test_malformed_json_is_a_400_and_changes_nothing(
    api: Api, samples_url: str, uow: UnitOfWork
) -> None:
    before = _state(uow)
    for raw in (b'{"name": "x"', b"", b"not json", b"\xff\xfe"):
        response = api.client.post(
            samples_url, data=raw, content_type="application/json", headers=api.headers()
        )
        assert response.status_code == 400, raw
        error = error_of(response)
        assert error["code"] == "bad_request"
        assert "not valid JSON" in error["message"]
    assert _state(uow) == before


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"name": 5}, "body.name", "valid string"),
        ({"name": "ok", "colour": "red"}, "body.colour", "Extra inputs"),
        ({}, "body.name", "Field required"),
        ({"name": ""}, "body.name", "at least 1 character"),
        ({"name": "x" * 201}, "body.name", "at most 200 characters"),
        ({"name": "ok", "description": None}, "body.description", "valid string"),
    ],
    ids=["wrong-type", "unknown-field", "missing", "empty", "too-long", "null"],
)
def test_invalid_fields_are_a_422_naming_the_field(
    api: Api, samples_url: str, uow: UnitOfWork, body: dict, field: str, problem: str
) -> None:
    before = _state(uow)
    response = api.post(samples_url, json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["message"]
    assert any(d["field"] == field and problem in d["problem"] for d in error["details"]), error
    assert _state(uow) == before


def test_a_json_array_instead_of_an_object_is_a_422(api: Api, samples_url: str) -> None:
    response = api.post(samples_url, json=[{"name": "x"}])
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_a_run_needs_exactly_one_kind_of_input(api: Api, catalogue: Catalogue) -> None:
    workflow = str(uuid.uuid4())
    version = str(catalogue.version.id)
    for body in (
        {"workflow_id": workflow},
        {"workflow_id": workflow, "version_id": version, "inputs": {"image": version}},
        {"workflow_id": workflow, "inputs": {}},
    ):
        response = api.post("/api/v1/runs", json=body)
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "invalid"
    bad_uuid = api.post("/api/v1/runs", json={"workflow_id": "nope", "version_id": "x"})
    assert bad_uuid.status_code == 422
    fields = {d["field"] for d in error_of(bad_uuid)["details"]}
    assert "body.RunOnVersion.workflow_id" in fields
    assert "body.RunOnVersion.version_id" in fields


def test_a_duplicate_is_a_409_and_service_refusals_keep_their_message(
    api: Api, samples_url: str, uow: UnitOfWork
) -> None:
    before = _state(uow)
    duplicate = api.post(samples_url, json={"name": "cell 7"})
    assert duplicate.status_code == 409
    assert "already has a sample named" in error_of(duplicate)["message"]
    slash = api.post(samples_url, json={"name": "a/b"})
    assert slash.status_code == 400
    assert "cannot contain '/'" in error_of(slash)["message"]
    assert _state(uow) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/{unknown}",
        "/api/v1/samples/{unknown}",
        "/api/v1/datasets/{unknown}",
        "/api/v1/versions/{unknown}/files",
        "/api/v1/files/{unknown}/content",
        "/api/v1/runs/{unknown}",
        "/api/v1/workflows/{unknown}",
        "/api/v1/projects/not-a-uuid",
        "/api/v1/no/such/thing",
        "/api/v1",
        "/api/v1/projects/",
    ],
)
def test_unknown_ids_and_paths_are_a_json_404(api: Api, catalogue: Catalogue, path: str) -> None:
    response = api.get(path.format(unknown=uuid.uuid4()))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405_with_allow(api: Api, catalogue: Catalogue) -> None:
    response = api.call("DELETE", f"/api/v1/projects/{catalogue.project_id}")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    put = api.call("PUT", "/api/v1/projects", json={"name": "x"})
    assert put.status_code == 405
    assert set(put.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": "0"}, 422, "query.limit"),
        ({"limit": "501"}, 422, "query.limit"),
        ({"limit": "ten"}, 422, "query.limit"),
        ({"colour": "red"}, 422, "query.colour"),
        ({"status": "exploded"}, 422, "query.status"),
    ],
    ids=["zero", "too-many", "not-a-number", "unknown", "unknown-status"],
)
def test_bad_query_parameters_are_refused(
    api: Api, params: dict[str, str], status: int, field: str
) -> None:
    response = api.get("/api/v1/runs", **params)
    assert response.status_code == status
    assert any(d["field"] == field for d in error_of(response)["details"])


def test_a_repeated_query_parameter_is_a_400(api: Api) -> None:
    response = api.client.get("/api/v1/runs?limit=1&limit=2", headers=api.headers())
    assert response.status_code == 400
    assert "once: limit" in error_of(response)["message"]


def test_audit_filters_are_checked(api_for, auditor) -> None:  # type: ignore[no-untyped-def]
    inspector: Api = api_for(auditor)
    naive = inspector.get("/api/v1/audit", since="2026-01-01T00:00:00")
    assert naive.status_code == 422, "times need a zone"
    backwards = inspector.get(
        "/api/v1/audit", since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z"
    )
    assert backwards.status_code == 400
    assert "later than since" in error_of(backwards)["message"]


def test_a_body_over_the_limit_is_a_json_413(api: Api, samples_url: str) -> None:
    response = api.client.post(
        samples_url,
        data=b'{"name": "' + b"x" * 1_100_000 + b'"}',
        content_type="application/json",
        headers=api.headers(),
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_an_unexpected_failure_is_a_json_500_that_says_nothing_changed(
    app: Flask, api: Api
) -> None:
    def boom() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/boom", endpoint="api.boom", view_func=bearer_only(boom))
    app.testing = False  # let the error handlers answer, as in production
    response = api.get("/api/v1/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "nothing was changed" in error["message"]
    assert "a bug" not in response.get_data(as_text=True), "internals are not shown"


def test_nul_characters_are_refused_before_reaching_the_database(  # type: ignore[no-untyped-def]
    api_for, auditor, api: Api, samples_url: str, uow: UnitOfWork
) -> None:
    before = _state(uow)
    created = api.post(samples_url, json={"name": "a\u0000b"})
    assert created.status_code == 400
    assert error_of(created)["details"] == [
        {
            "field": "body.name",
            "problem": "text cannot contain NUL characters or unpaired surrogates",
        }
    ]
    inspector: Api = api_for(auditor)
    trail = inspector.get("/api/v1/audit", actor="a\x00b")
    assert trail.status_code == 400
    assert error_of(trail)["details"][0]["field"] == "query.actor"
    found = api.get("/api/v1/search", q="cell\x00 7")
    assert found.status_code == 400
    assert "NUL" in error_of(found)["details"][0]["problem"]
    assert _state(uow)[:2] == before[:2]


def test_an_unpaired_surrogate_escape_is_malformed_json(api: Api, samples_url: str) -> None:
    response = api.client.post(
        samples_url,
        data=b'{"name": "a\\ud8fdb"}',
        content_type="application/json",
        headers=api.headers(),
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
