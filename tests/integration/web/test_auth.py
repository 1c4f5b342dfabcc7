"""Login through the real form: wrong passwords are refused and audited."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from audit import AuditEvent
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from tests.factories import DEFAULT_PASSWORD
from tests.integration.web.conftest import csrf_token, log_in


def _actions(uow: UnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.req("P11-20")
def test_wrong_password_shows_an_error_and_is_audited(
    client: FlaskClient, scientist: Identity, uow: UnitOfWork
) -> None:
    response = log_in(client, scientist.username, "not the password")

    assert response.status_code == 401
    assert "wrong user name or password" in response.get_data(as_text=True)
    assert _actions(uow)[-1] == "login.failure"
    assert client.get("/").status_code == 302, "still logged out"


def test_login_starts_a_session_and_is_audited(
    client: FlaskClient, scientist: Identity, uow: UnitOfWork
) -> None:
    response = log_in(client, scientist.username)

    assert response.status_code == 302
    assert response.location == "/"
    assert _actions(uow)[-1] == "login.success"
    page = client.get("/")
    assert page.status_code == 200
    assert "Marie Curie" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"), [("/projects/x?y=1", "/projects/x?y=1"), ("//evil.example/", "/")]
)
def test_login_returns_to_a_local_page_only(
    client: FlaskClient, scientist: Identity, target: str, expected: str
) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": scientist.username, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.location == expected


def test_login_without_csrf_token_is_refused(client: FlaskClient, scientist: Identity) -> None:
    response = client.post(
        "/login", data={"username": scientist.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302
