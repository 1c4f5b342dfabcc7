"""API fixtures: the app on the rolled-back connection, tokens, and a small catalogue."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.models import DatasetVersion
from lims.runtime.resources import Resources
from lims.services import tokens
from lims.services.catalogue import create_project, create_sample
from lims.services.ingest import IngestTarget, ingest_path
from lims.settings import Settings
from lims.web.app import create_app
from tests.factories import as_project_admin, make_user, write_volume


@pytest.fixture
def app(settings: Settings, resources: Resources) -> Flask:
    app = create_app(settings, resources=resources)
    app.config["TESTING"] = True
    return app


@dataclasses.dataclass
class Api:
    """A script's view of the API: a test client and a bearer token."""

    client: FlaskClient
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> TestResponse:
        return self.client.get(path, query_string=params, headers=self.headers())

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.post(path, json=json, headers=self.headers(), **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, headers=self.headers(), **kwargs)


def issue_token(resources: Resources, uow: UnitOfWork, who: Identity, scope: str = "write") -> str:
    """A real API token of ``who`` (made through the tokens service, committed)."""
    issued = tokens.create_token(
        resources.service_context(uow, who), name=f"{who.username} script", scope=scope, days=30
    )
    uow.commit()
    return issued.secret


@pytest.fixture
def api_for(app: Flask, resources: Resources, uow: UnitOfWork) -> Callable[..., Api]:
    def make(who: Identity, scope: str = "write") -> Api:
        return Api(app.test_client(), issue_token(resources, uow, who, scope))

    return make


@pytest.fixture
def api(api_for: Callable[..., Api], scientist: Identity) -> Api:
    """The microscopist (global role) with a write token."""
    return api_for(scientist)


@dataclasses.dataclass
class Catalogue:
    """One project with a sample and a dataset of one version, and one other project."""

    project_id: uuid.UUID
    sample_id: uuid.UUID
    version: DatasetVersion
    other_project_id: uuid.UUID


@pytest.fixture
def catalogue(
    resources: Resources, uow: UnitOfWork, scientist: Identity, tmp_path: Path
) -> Catalogue:
    ctx = resources.service_context(uow, scientist)
    project = create_project(as_project_admin(ctx), name="Battery", description="cells")
    other = create_project(as_project_admin(ctx), name="Secret alloy")
    sample = create_sample(ctx, project_name="Battery", name="Cell 7")
    uow.commit()
    source = tmp_path / "scan"
    write_volume(source / "slices" / "a.raw", seed=1)
    (source / "scan.log").write_text("kV=80\n")
    version = ingest_path(
        ctx,
        IngestTarget(project="Battery", sample="Cell 7", dataset="scan-001"),
        source,
        reason="acquired on Zeiss Versa",
        metadata={"instrument": "Zeiss Versa 620"},
    )
    return Catalogue(project.id, sample.id, version, other.id)


@pytest.fixture
def outsider(uow: UnitOfWork, catalogue: Catalogue) -> Identity:
    """A viewer of the other project only: sees nothing of Battery."""
    return make_user(
        uow, "outsider", roles=set(), project_roles={catalogue.other_project_id: {Role.VIEWER}}
    )


@pytest.fixture
def auditor(uow: UnitOfWork) -> Identity:
    return make_user(uow, "inspector", display_name="Ida Inspector", roles={Role.AUDITOR})


def error_of(response: TestResponse) -> dict[str, Any]:
    """The error object of a refused request, after checking its shape."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"], body
    return body["error"]
