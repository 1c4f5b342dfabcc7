"""Login policies on the web: rate limit, lockout with alert, one-time and expired passwords."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from audit.models import AuditEvent
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.models import User
from tests.conftest import MailSink
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.web.conftest import csrf_token, log_in, post_form

NEW_PASSWORD = "a brand new passphrase 42"
_ONE_TIME = re.compile(r'<code class="secret" id="one-time-password">([^<]+)</code>')


def _events(uow: UnitOfWork, action: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return uow.session.scalar(query) or 0


@pytest.mark.req("P11-32")
def test_too_many_attempts_from_one_address_get_429_and_nothing_else_happens(
    app_with: Callable[..., Flask], scientist: Identity, uow: UnitOfWork
) -> None:
    client = app_with(login_attempts_per_minute=3).test_client()
    for _ in range(3):
        assert log_in(client, scientist.username, "wrong").status_code == 401
    events = _events(uow)

    response = log_in(client, scientist.username, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "Too many login attempts from your address" in response.get_data(as_text=True)
    assert _events(uow) == events, "not even audited: nothing was tried"
    assert client.get("/").status_code == 302


@pytest.mark.req("P11-32")
def test_five_wrong_passwords_lock_the_account_audit_it_and_mail_the_admins(
    client: FlaskClient, scientist: Identity, uow: UnitOfWork, mailbox: MailSink
) -> None:
    make_user(uow, "secadmin", roles={Role.ADMIN}, email="security@lab.example")
    for _ in range(5):
        assert log_in(client, scientist.username, "not it").status_code == 401

    response = log_in(client, scientist.username, DEFAULT_PASSWORD)

    assert response.status_code == 401
    assert "this account is locked until" in response.get_data(as_text=True)
    assert _events(uow, "login.lockout") == 1
    messages = mailbox.wait_for(1)
    assert messages, "an alert reaches the administrators"
    assert "security@lab.example" in messages[0]["To"]
    assert scientist.username in messages[0].get_content()


@pytest.mark.req("P11-29", "P11-31")
def test_a_reset_password_opens_only_the_change_page_until_changed(
    app: Flask, as_admin: FlaskClient, uow: UnitOfWork, mailbox: MailSink
) -> None:
    owner = make_user(uow, "owner", roles={Role.MICROSCOPIST}, email="owner@lab.example")
    page = f"/admin/users/{owner.user_id}"

    reset = post_form(as_admin, page, f"{page}/password", "password", reason="forgotten")

    assert reset.status_code == 200
    found = _ONE_TIME.search(reset.get_data(as_text=True))
    assert found, "the one-time password is shown once"
    one_time = found.group(1)
    assert one_time not in as_admin.get(page).get_data(as_text=True), "and never again"
    assert mailbox.wait_for(1)
    assert "owner@lab.example" in mailbox.messages[0]["To"]

    client = app.test_client()
    assert log_in(client, "owner", DEFAULT_PASSWORD).status_code == 401, "old one is gone"
    login = log_in(client, "owner", one_time)
    assert login.status_code == 302
    assert login.location == "/account/password"
    for path in ("/", f"/admin/users/{owner.user_id}", "/account/tokens"):
        assert client.get(path).location == "/account/password", path
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 403

    reuse = post_form(
        client,
        "/account/password",
        "/account/password",
        "",
        current=one_time,
        new=one_time,
        confirm=one_time,
    )
    assert reuse.status_code == 400
    assert client.get("/").location == "/account/password", "still forced"

    changed = post_form(
        client,
        "/account/password",
        "/account/password",
        "",
        current=one_time,
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    fresh = app.test_client()
    assert log_in(fresh, "owner", one_time).status_code == 401
    assert log_in(fresh, "owner", NEW_PASSWORD).status_code == 302
    assert fresh.get("/").status_code == 200


@pytest.mark.req("P11-31")
def test_an_expired_password_must_be_changed_first(
    app_with: Callable[..., Flask], scientist: Identity, uow: UnitOfWork
) -> None:
    uow.session.execute(
        update(User)
        .where(User.id == scientist.user_id)
        .values(password_changed_at=func.now() - dt.timedelta(days=100))
    )
    uow.commit()
    client = app_with(password_max_age_days=90).test_client()

    response = log_in(client, scientist.username)

    assert response.location == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert "Your password was reset or has expired" in page


def test_a_user_changes_their_password_from_the_menu(
    app: Flask, logged_in: FlaskClient, scientist: Identity
) -> None:
    other = app.test_client()
    log_in(other, scientist.username)
    assert 'href="/account/password"' in logged_in.get("/").get_data(as_text=True)

    wrong = post_form(
        logged_in,
        "/account/password",
        "/account/password",
        "",
        current="nope",
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    mismatch = post_form(
        logged_in,
        "/account/password",
        "/account/password",
        "",
        current=DEFAULT_PASSWORD,
        new=NEW_PASSWORD,
        confirm="something else",
    )
    reuse = post_form(
        logged_in,
        "/account/password",
        "/account/password",
        "",
        current=DEFAULT_PASSWORD,
        new=DEFAULT_PASSWORD,
        confirm=DEFAULT_PASSWORD,
    )
    changed = post_form(
        logged_in,
        "/account/password",
        "/account/password",
        "",
        current=DEFAULT_PASSWORD,
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )

    assert wrong.status_code == 401
    assert "the current password is wrong" in wrong.get_data(as_text=True)
    assert mismatch.status_code == 400
    assert "the two new passwords differ" in mismatch.get_data(as_text=True)
    assert reuse.status_code == 400
    assert changed.status_code == 302
    assert logged_in.get("/").status_code == 200, "this session goes on"
    assert other.get("/").status_code == 302, "the other sessions ended"


@pytest.mark.req("A11-15")
def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    as_admin: FlaskClient, logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    users_before = uow.session.scalar(select(func.count()).select_from(User))
    events = _events(uow)
    token = csrf_token(logged_in, "/")  # a valid token, but of another session

    response = as_admin.post(
        "/admin/users",
        data={
            "create-username": "intruder",
            "create-display_name": "In Truder",
            "create-roles": "admin",
            "create-reason": "forged",
            "create-csrf_token": token,
        },
    )

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(User)) == users_before
    assert _events(uow) == events
