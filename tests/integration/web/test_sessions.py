"""Server-side sessions: random ids, idle and absolute limits, revocation, no replay."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from audit.models import AuditEvent
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.web.sessions import COOKIE_NAME, SessionStore
from tests.integration.web.conftest import csrf_token, log_in, post_form, session_key

IDLE_MESSAGE = "Your session ended after 15 minutes without activity. Log in again."


def _refused_with(client: FlaskClient, message: str) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert message in client.get(response.location).get_data(as_text=True)


@pytest.mark.req("A11-15", "P11-33")
def test_the_cookie_holds_only_a_random_id_and_the_data_stays_in_redis(
    logged_in: FlaskClient, scientist: Identity, redis: Redis
) -> None:
    cookie = logged_in.get_cookie(COOKIE_NAME)
    assert cookie is not None
    assert len(cookie.value) >= 43, "256 random bits"
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure
    key = session_key(logged_in)
    assert redis.hget(key, "user") == str(scientist.user_id).encode()
    assert cookie.value.encode() not in b"".join(redis.keys("*")), "Redis keys hold a digest"
    assert 0 < redis.ttl(key) <= 15 * 60


def test_the_cookie_is_secure_in_production(
    app_with: Callable[..., Flask], scientist: Identity
) -> None:
    client = app_with(production=True).test_client()
    response = log_in(client, scientist.username)
    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


@pytest.mark.req("P11-33")
def test_the_session_id_changes_at_login(
    client: FlaskClient, scientist: Identity, redis: Redis
) -> None:
    client.get("/login")
    before = client.get_cookie(COOKIE_NAME)
    assert before is not None, "the anonymous session keeps the CSRF token"
    log_in(client, scientist.username)
    after = client.get_cookie(COOKIE_NAME)
    assert after is not None
    assert after.value != before.value
    assert not redis.exists(SessionStore.key_of(before.value)), "the old id is gone"
    client.set_cookie(COOKIE_NAME, before.value)
    assert client.get("/").status_code == 302, "a fixed (pre-login) id never logs in"


@pytest.mark.req("P11-27")
def test_activity_refreshes_the_idle_timeout(logged_in: FlaskClient, redis: Redis) -> None:
    key = session_key(logged_in)
    redis.hset(key, "seen", time.time() - 14 * 60)
    redis.expire(key, 60)
    assert logged_in.get("/").status_code == 200
    assert float(redis.hget(key, "seen") or 0) > time.time() - 5
    assert redis.ttl(key) > 14 * 60


@pytest.mark.req("P11-27")
def test_a_session_idle_for_15_minutes_ends_with_a_plain_message(
    logged_in: FlaskClient, redis: Redis
) -> None:
    key = session_key(logged_in)
    redis.hset(key, "seen", time.time() - 15 * 60 - 1)

    _refused_with(logged_in, IDLE_MESSAGE)
    assert not redis.exists(key)


def test_a_session_expired_in_redis_ends_with_the_same_message(
    logged_in: FlaskClient, redis: Redis
) -> None:
    redis.delete(session_key(logged_in))  # what Redis does when the idle TTL runs out
    _refused_with(logged_in, IDLE_MESSAGE)


def test_a_session_ends_after_its_absolute_lifetime_however_active(
    logged_in: FlaskClient, redis: Redis
) -> None:
    key = session_key(logged_in)
    redis.hset(key, "created", time.time() - 12 * 3600 - 1)

    _refused_with(logged_in, "Your session ended after 12 hours")


@pytest.mark.req("P11-33")
def test_a_replayed_cookie_after_logout_is_refused(logged_in: FlaskClient) -> None:
    old = logged_in.get_cookie(COOKIE_NAME)
    assert old is not None
    token = csrf_token(logged_in, "/")
    assert logged_in.post("/logout", data={"csrf_token": token}).status_code == 302

    logged_in.set_cookie(COOKIE_NAME, old.value)
    response = logged_in.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    logged_in.set_cookie(COOKIE_NAME, old.value)
    script = logged_in.get("/", headers={"Accept": "application/json"})
    assert script.status_code == 401
    assert script.get_json()["error"]


@pytest.mark.req("P11-06", "P11-33")
def test_an_admin_disabling_a_user_ends_their_sessions_at_once(
    logged_in: FlaskClient, as_admin: FlaskClient, scientist: Identity, redis: Redis
) -> None:
    assert logged_in.get("/").status_code == 200
    page = f"/admin/users/{scientist.user_id}"

    response = post_form(as_admin, page, f"{page}/active/disable", "active", reason="left the lab")

    assert response.status_code == 302
    assert not redis.exists(session_key(logged_in))
    _refused_with(logged_in, "Log in again.")
    assert log_in(logged_in, scientist.username).status_code == 401


@pytest.mark.req("P11-33", "A11-16")
def test_an_admin_revokes_every_session_of_a_user_with_an_audited_reason(
    app: Flask,
    logged_in: FlaskClient,
    as_admin: FlaskClient,
    scientist: Identity,
    uow: UnitOfWork,
) -> None:
    second = app.test_client()
    log_in(second, scientist.username)
    page = f"/admin/users/{scientist.user_id}"
    assert "Live sessions</dt><dd>2</dd>" in as_admin.get(page).get_data(as_text=True)

    response = post_form(
        as_admin, page, f"{page}/sessions/revoke", "sessions", reason="laptop stolen"
    )

    assert response.status_code == 302
    for client in (logged_in, second):
        _refused_with(client, "Your session was ended")
    assert as_admin.get("/").status_code == 200, "the admin's own session lives on"
    event = uow.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.sessions_revoke")
    ).one()
    assert event.reason == "laptop stolen"
    assert event.object_id == str(scientist.user_id)


def test_revoking_sessions_needs_a_reason(
    as_admin: FlaskClient, logged_in: FlaskClient, scientist: Identity
) -> None:
    page = f"/admin/users/{scientist.user_id}"
    response = post_form(as_admin, page, f"{page}/sessions/revoke", "sessions", reason=" ")
    assert response.status_code == 400
    assert "this change needs a reason" in response.get_data(as_text=True)
    assert logged_in.get("/").status_code == 200


def test_log_out_everywhere_ends_the_other_sessions_too(
    app: Flask, logged_in: FlaskClient, scientist: Identity
) -> None:
    second = app.test_client()
    log_in(second, scientist.username)
    token = csrf_token(second, "/")

    response = second.post("/logout/everywhere", data={"csrf_token": token})

    assert response.status_code == 302
    assert logged_in.get("/").status_code == 302
    assert second.get("/").status_code == 302
