"""Helpers that drive the upload endpoints the way upload.js does."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask.testing import FlaskClient

from lims.db.uow import UnitOfWork
from lims.models import Sample
from tests.integration.web.conftest import csrf_token, make_project

_SAMPLE_URL = re.compile(r"/samples/[0-9a-f-]{36}")


def make_sample_via_web(
    client: FlaskClient, project: str = "Battery", sample: str = "Cell 7"
) -> str:
    """Create a project (as an administrator) and a sample through the form.

    Returns the sample page path.
    """
    project_url = make_project(client, project)
    token = csrf_token(client, project_url)
    response = client.post(f"{project_url}/samples", data={"name": sample, "csrf_token": token})
    assert response.status_code == 302
    assert _SAMPLE_URL.fullmatch(response.location)
    return response.location


def open_batch(
    client: FlaskClient, sample_url: str, dataset: str = "scan-001", reason: str = "acquired"
) -> tuple[int, dict[str, Any], str]:
    """Open an upload batch; returns (status, JSON, CSRF token)."""
    token = csrf_token(client, "/")
    response = client.post(
        f"{sample_url}/uploads",
        data={"dataset": dataset, "reason": reason},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    return response.status_code, response.get_json(), token


def put_file(
    client: FlaskClient, batch: dict[str, Any], token: str, path: str, body: bytes, **kwargs: Any
):
    """PUT one file's bytes as the raw request body."""
    return client.put(
        batch["files_url"],
        query_string={"path": path},
        data=body,
        headers={"X-CSRFToken": token, "Content-Type": "application/octet-stream"},
        **kwargs,
    )


def upload(client: FlaskClient, sample_url: str, files: dict[str, bytes], **target: str):
    """Upload files as one version; returns the commit response."""
    status, batch, token = open_batch(client, sample_url, **target)
    assert status == 200, batch
    for path, body in files.items():
        response = put_file(client, batch, token, path, body)
        assert response.status_code == 200, response.get_json()
    return client.post(batch["commit_url"], headers={"X-CSRFToken": token})


def sample_id(sample_url: str) -> uuid.UUID:
    """The id in a sample page path."""
    return uuid.UUID(sample_url.rsplit("/", 1)[1])


def sample_row(uow: UnitOfWork, sample_url: str) -> Sample:
    """The sample row behind a sample page path."""
    found = uow.session.get(Sample, sample_id(sample_url))
    assert found is not None
    return found
