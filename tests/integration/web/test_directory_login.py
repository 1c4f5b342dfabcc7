"""Logging in through the lab directory (a real slapd) on the web."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from audit.models import AuditEvent
from lims.auth.ldap import LdapDirectory
from lims.db.uow import UnitOfWork
from lims.settings import Settings
from tests.integration.auth.conftest import NEW_USER_PASSWORD
from tests.integration.web.conftest import log_in
from tests.ldap_server import SlapdServer


@pytest.mark.req("P11-06")
def test_a_directory_user_logs_in_and_sees_their_printed_name(
    app_with: Callable[..., Flask], ldap_settings: Settings, new_user: Callable[..., str]
) -> None:
    uid = new_user("ct-microscopists", cn="Lise Meitner")
    client = app_with(directory=LdapDirectory(ldap_settings)).test_client()

    assert log_in(client, uid, "wrong password").status_code == 401
    response = log_in(client, uid, NEW_USER_PASSWORD)

    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert f"Logged in as Lise Meitner ({uid})." in page


def test_an_unreachable_directory_is_said_plainly(
    app_with: Callable[..., Flask], ldap_settings: Settings
) -> None:
    down = dataclasses.replace(ldap_settings, ldap_url="ldaps://127.0.0.1:1", ldap_timeout_s=1)
    client = app_with(directory=LdapDirectory(down)).test_client()

    response = log_in(client, "lmeitner", "whatever")

    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "The lab directory cannot be reached, so nobody can log in now" in page
    assert "Traceback" not in page


@pytest.mark.req("P11-06")
def test_a_user_locked_in_the_directory_is_refused_at_the_next_request(
    app_with: Callable[..., Flask],
    ldap_settings: Settings,
    new_user: Callable[..., str],
    slapd: SlapdServer,
    uow: UnitOfWork,
) -> None:
    uid = new_user("ct-microscopists")
    client = app_with(directory=LdapDirectory(ldap_settings), ldap_recheck_s=0).test_client()
    assert log_in(client, uid, NEW_USER_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200

    slapd.lock_user(uid)
    response = client.get("/")

    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert "Your directory account is disabled" in client.get(response.location).get_data(
        as_text=True
    )
    ended = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "session.end"))
    assert ended.one().reason == "disabled or removed in the directory"


def test_the_directory_is_asked_again_only_after_the_recheck_interval(
    app_with: Callable[..., Flask],
    ldap_settings: Settings,
    new_user: Callable[..., str],
    slapd: SlapdServer,
) -> None:
    uid = new_user("ct-microscopists")
    client = app_with(directory=LdapDirectory(ldap_settings), ldap_recheck_s=3600).test_client()
    assert log_in(client, uid, NEW_USER_PASSWORD).status_code == 302

    slapd.lock_user(uid)

    assert client.get("/").status_code == 200, "within the interval: no directory round trip"
