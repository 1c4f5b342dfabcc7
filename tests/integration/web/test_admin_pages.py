"""The user administration pages: only for user managers, every change with a reason."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.models import AuditEvent
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.models import RoleAssignment, User
from tests.factories import make_user
from tests.integration.web.conftest import log_in, make_project, post_form
from tests.integration.web.test_access import _example_url

_ONE_TIME = re.compile(r'<code class="secret" id="one-time-password">([^<]+)</code>')


@pytest.mark.req("P11-13")
def test_every_admin_page_is_refused_to_a_non_admin(
    app: Flask, logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        url = _example_url(app, rule.endpoint, set(rule.arguments))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = logged_in.open(url, method=method)
            if method == "POST":
                # CSRF comes first for posts: 400 without a token; with one, 403.
                response = post_form(logged_in, "/", url, "x", reason="r")
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 9
    assert "Users</a>" not in logged_in.get("/").get_data(as_text=True)


def test_the_users_table_shows_roles_source_login_and_state(
    as_admin: FlaskClient, admin: Identity, uow: UnitOfWork
) -> None:
    project_url = make_project(as_admin, "Battery")
    member = make_user(
        uow,
        "member",
        display_name="Mem Ber",
        roles=set(),
        project_roles={uuid.UUID(project_url.rsplit("/", 1)[1]): {Role.VIEWER}},
    )

    page = as_admin.get("/admin/users").get_data(as_text=True)

    row = page[page.index(f'href="/admin/users/{member.user_id}"') :].split("</tr>")[0]
    assert "Mem Ber (member)" in row
    assert "local" in row
    assert '<span class="role role-project">viewer · Battery</span>' in row
    assert "never" in row
    assert '<span class="state state-active">active</span>' in row
    admin_row = page[page.index(f'href="/admin/users/{admin.user_id}"') :].split("</tr>")[0]
    assert '<span class="role">admin</span>' in admin_row
    assert "UTC" in admin_row, "the admin logged in: last login shown"


@pytest.mark.req("A11-16")
def test_granting_a_project_role_makes_a_member_and_revoking_ends_it(
    app: Flask, as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    project_url = make_project(as_admin, "Battery")
    project_id = project_url.rsplit("/", 1)[1]
    newcomer = make_user(uow, "newcomer", roles={Role.VIEWER})
    page = f"/admin/users/{newcomer.user_id}"

    no_reason = post_form(
        as_admin, page, f"{page}/roles", "grant", role="microscopist", project=project_id, reason=""
    )
    granted = post_form(
        as_admin,
        page,
        f"{page}/roles",
        "grant",
        role="microscopist",
        project=project_id,
        reason="joins the battery study",
    )

    assert no_reason.status_code == 400
    assert "this change needs a reason" in no_reason.get_data(as_text=True)
    assert granted.status_code == 302
    client = app.test_client()
    log_in(client, "newcomer")
    assert "Create sample" in client.get(project_url).get_data(as_text=True)
    event = uow.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.role_grant")
    ).one()
    assert event.reason == "joins the battery study"
    assignment = uow.session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == newcomer.user_id, RoleAssignment.project_id.is_not(None)
        )
    ).one()

    revoked = post_form(
        as_admin,
        page,
        f"{page}/roles/{assignment.id}/revoke",
        "revoke",
        reason="study finished",
    )

    assert revoked.status_code == 302
    assert "Create sample" not in client.get(project_url).get_data(as_text=True)
    assert "study finished" in as_admin.get(page).get_data(as_text=True)


def test_an_admin_creates_a_local_user_whose_password_is_shown_once(
    app: Flask, as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    response = post_form(
        as_admin,
        "/admin/users",
        "/admin/users",
        "create",
        username="rfranklin",
        display_name="Rosalind Franklin",
        email="rf@lab.example",
        roles="reviewer",
        reason="new QA reviewer",
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    found = _ONE_TIME.search(response.get_data(as_text=True))
    assert found
    assert found.group(1) not in as_admin.get("/admin/users").get_data(as_text=True)
    user = uow.session.scalars(select(User).where(User.username == "rfranklin")).one()
    assert user.must_change_password
    client = app.test_client()
    assert log_in(client, "rfranklin", found.group(1)).location == "/account/password"


@pytest.mark.req("A11-16")
@pytest.mark.parametrize(
    ("action", "prefix", "event"),
    [("unlock", "unlock", "user.unlock"), ("retire", "retire", "user.retire")],
)
def test_unlock_and_retire_need_a_reason_and_are_audited(
    as_admin: FlaskClient,
    scientist: Identity,
    uow: UnitOfWork,
    action: str,
    prefix: str,
    event: str,
) -> None:
    for _ in range(5):
        log_in(as_admin.application.test_client(), scientist.username, "wrong")
    page = f"/admin/users/{scientist.user_id}"
    assert '<span class="state state-locked">locked</span>' in as_admin.get(page).get_data(
        as_text=True
    )

    response = post_form(as_admin, page, f"{page}/{action}", prefix, reason="checked by phone")

    assert response.status_code == 302
    recorded = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == event)).one()
    assert recorded.reason == "checked by phone"
