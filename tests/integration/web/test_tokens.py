"""API tokens: made on the account page, shown once, used as Bearer, scoped, revocable."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.models import Note
from tests.integration.web.conftest import make_project, post_form

_SECRET = re.compile(r'<code class="secret" id="new-token">(ctv_[^<]+)</code>')


def _create(client: FlaskClient, scope: str, name: str = "nightly export") -> str:
    response = post_form(
        client, "/account/tokens", "/account/tokens", "", name=name, scope=scope, days="30"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    found = _SECRET.search(response.get_data(as_text=True))
    assert found, "the secret is shown on the creating response"
    return found.group(1)


def _note(client: FlaskClient, secret: str, project_id: str):
    return client.post(
        "/api/v1/notes",
        json={"object_type": "project", "object_id": project_id, "body": "from a script"},
        headers={"Authorization": f"Bearer {secret}"},
    )


def _notes(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.count()).select_from(Note)) or 0


@pytest.mark.req("P11-33")
def test_token_lifecycle_create_use_scope_revoke(
    app, logged_in: FlaskClient, scientist: Identity, uow: UnitOfWork
) -> None:
    project_id = make_project(logged_in, "Battery").rsplit("/", 1)[1]
    read = _create(logged_in, "read")
    write = _create(logged_in, "write", "lab notebook sync")
    listing = logged_in.get("/account/tokens").get_data(as_text=True)
    assert read not in listing, "secrets are never shown again"
    assert write not in listing
    assert "nightly export" in listing
    assert "lab notebook sync" in listing

    script = app.test_client()  # no cookie: the token alone
    whoami = script.get("/api/v1/whoami", headers={"Authorization": f"Bearer {read}"})
    assert whoami.status_code == 200
    assert whoami.get_json()["username"] == scientist.username
    refused = _note(script, read, project_id)
    assert refused.status_code == 403
    assert "read scope" in refused.get_json()["error"]["message"]
    assert _notes(uow) == 0
    assert _note(script, write, project_id).status_code == 201
    assert _notes(uow) == 1
    assert (
        "never"
        not in logged_in.get("/account/tokens")
        .get_data(as_text=True)
        .split("nightly export")[1]
        .split("</tr>")[0]
    ), "last use is shown"

    token_id = re.search(
        r'action="/account/tokens/([0-9a-f-]{36})/revoke"',
        logged_in.get("/account/tokens").get_data(as_text=True),
    )
    assert token_id
    revoke = post_form(
        logged_in, "/account/tokens", f"/account/tokens/{token_id.group(1)}/revoke", ""
    )
    assert revoke.status_code == 302
    statuses = {
        secret: script.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
        for secret in (read, write)
    }
    assert sorted(r.status_code for r in statuses.values()) == [200, 401]


def test_api_endpoints_ignore_the_session_cookie(logged_in: FlaskClient) -> None:
    response = logged_in.get("/api/v1/whoami")
    assert response.status_code == 401
    assert (
        logged_in.get("/api/v1/whoami", headers={"Authorization": "Bearer ctv_nope"}).status_code
        == 401
    )
