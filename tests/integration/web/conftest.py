"""Web fixtures: the app on the rolled-back test connection, a client, a real login."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.auth.identity import Identity
from lims.runtime.resources import Resources
from lims.settings import Settings
from lims.web.app import create_app
from tests.factories import DEFAULT_PASSWORD

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app(settings: Settings, resources: Resources) -> Flask:
    app = create_app(settings, resources=resources)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # Not ``with``: a preserved request context would share ``g`` (and its cached CSRF
    # token) with a second client's requests.
    return app.test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on a page (or of its meta tag)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    text = page.get_data(as_text=True)
    found = _CSRF.search(text) or _META_CSRF.search(text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, username: str, password: str = DEFAULT_PASSWORD):
    """Post the real login form."""
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def logged_in(client: FlaskClient, scientist: Identity) -> FlaskClient:
    response = log_in(client, scientist.username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
