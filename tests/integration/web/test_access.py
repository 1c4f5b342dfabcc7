"""Every page needs a login; the login guard, headers and public endpoints behave."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.models import User
from lims.web.errors import JSON_BLUEPRINTS

PUBLIC_ENDPOINTS = {"auth.login", "static", "health.health", "vendor.file"}


def _example_url(app: Flask, endpoint: str, arguments: set[str]) -> str:
    values: dict[str, object] = {}
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    for name in arguments:
        converter = rule._converters[name]
        kind = type(converter).__name__
        if kind == "UUIDConverter":
            values[name] = uuid.uuid4()
        elif kind == "AnyConverter":
            values[name] = min(converter.items)
        elif kind in ("IntegerConverter", "FloatConverter"):
            values[name] = 1
        else:
            values[name] = "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


@pytest.mark.req("P11-06", "P11-17")
def test_every_route_but_the_public_ones_sends_anonymous_users_to_login(
    app: Flask, client: FlaskClient
) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _example_url(app, rule.endpoint, set(rule.arguments))
        scripts = rule.endpoint.split(".")[0] in JSON_BLUEPRINTS
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            where = (method, url, response.status_code)
            if scripts:
                assert response.status_code == 401, where
                assert response.is_json, where
            else:
                assert response.status_code == 302, where
                assert response.location.startswith("/login"), (method, url, response.location)
            checked += 1
    assert checked >= 30


def test_public_endpoints_answer_without_login(client: FlaskClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    assert client.get("/static/ctvault.css").status_code == 200


def test_vendor_files_come_from_node_modules(client: FlaskClient) -> None:
    response = client.get("/vendor/htmx.org/dist/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data
    assert client.get("/vendor/../pyproject.toml").status_code == 404


def test_security_headers_and_cookie_flags(client: FlaskClient, scientist: Identity) -> None:
    from tests.integration.web.conftest import log_in

    response = log_in(client, scientist.username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in page.get_data(as_text=True), "no inline scripts"


def test_a_disabled_user_is_refused_at_the_next_request(
    logged_in: FlaskClient, scientist: Identity, uow: UnitOfWork
) -> None:
    assert logged_in.get("/").status_code == 200
    uow.session.execute(update(User).where(User.id == scientist.user_id).values(is_active=False))
    uow.commit()
    response = logged_in.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_logout_ends_the_session(logged_in: FlaskClient) -> None:
    from tests.integration.web.conftest import csrf_token

    token = csrf_token(logged_in, "/")
    response = logged_in.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert logged_in.get("/").status_code == 302


def test_unknown_page_is_a_friendly_404(logged_in: FlaskClient) -> None:
    response = logged_in.get(f"/projects/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "no such project" in response.get_data(as_text=True)
    assert logged_in.get("/no/such/page").status_code == 404
