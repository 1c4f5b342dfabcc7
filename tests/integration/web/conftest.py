"""Web fixtures: the app on the rolled-back test connection, a client, a real login."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services import catalogue, users
from lims.services.context import ServiceContext
from lims.settings import Settings
from lims.web.app import create_app
from lims.web.sessions import COOKIE_NAME, SessionStore
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.auth.conftest import ldap_settings, new_user, slapd  # noqa: F401 - fixtures

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


PROJECT_ADMIN = "project-admin"


def project_admin_context(client: FlaskClient) -> ServiceContext:
    """A service context of an administrator (made on first use) on the app's connection."""
    resources: Resources = client.application.extensions["ctvault"]
    uow = resources.unit_of_work()
    user = users.find_user(uow.session, PROJECT_ADMIN)
    if user is None:
        identity = make_user(uow, PROJECT_ADMIN, roles={Role.ADMIN})
    else:
        identity = users.identity_of(uow.session, user)
    return resources.service_context(uow, identity)


def make_project(client: FlaskClient, name: str = "Battery", description: str = "") -> str:
    """Create a project as an administrator (microscopists cannot); returns its page path."""
    ctx = project_admin_context(client)
    project = catalogue.create_project(ctx, name=name, description=description)
    ctx.uow.commit()
    path = f"/projects/{project.id}"
    ctx.uow.close()
    return path


@pytest.fixture
def as_admin(app: Flask, admin: Identity) -> FlaskClient:
    """A client logged in as the administrator (Role.ADMIN only)."""
    client = app.test_client()
    assert log_in(client, admin.username).status_code == 302
    return client


@pytest.fixture
def app_with(settings: Settings, resources: Resources) -> Callable[..., Flask]:
    """Build the app with some settings changed (the services see the same settings)."""

    def build(directory: Any = None, **overrides: Any) -> Flask:
        changed = dataclasses.replace(settings, **overrides)
        built = create_app(
            changed,
            resources=dataclasses.replace(
                resources, settings=changed, directory=directory or resources.directory
            ),
        )
        built.config["TESTING"] = True
        return built

    return build


def session_key(client: FlaskClient) -> str:
    """The Redis key of the client's current session."""
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None, "no session cookie"
    return SessionStore.key_of(cookie.value)


def post_form(client: FlaskClient, page: str, action: str, prefix: str, **fields: str):
    """Post a (prefixed) form with the CSRF token of ``page``."""
    token = csrf_token(client, page)
    data = {f"{prefix}-{key}" if prefix else key: value for key, value in fields.items()}
    data[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
    return client.post(action, data=data)
