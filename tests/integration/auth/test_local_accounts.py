"""Local accounts: lockout with alerts, password policy, resets, expiry (Part 11 §11.300)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from audit import AuditEvent
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError, ConflictError, PermissionDeniedError, UserError
from lims.models import RoleAssignment, User
from lims.runtime.resources import Resources
from lims.services import admin, users
from lims.services.login import LoginResult, authenticate, change_password
from lims.settings import Settings
from tests.conftest import MailSink, as_owner
from tests.factories import DEFAULT_PASSWORD, make_user


def _login(uow: UnitOfWork, settings: Settings, name: str, password: str) -> LoginResult:
    return authenticate(
        uow, settings, username=name, password=password, context={"ip": "192.0.2.7"}
    )


def _actions(uow: UnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.fixture
def boss(uow: UnitOfWork) -> Identity:
    return make_user(uow, "boss", roles={Role.ADMIN}, email="boss@lab.example")


@pytest.mark.req("P11-32", "P11-31")
def test_five_failures_lock_the_account_audit_it_and_mail_the_admins(
    uow: UnitOfWork,
    settings: Settings,
    scientist: Identity,
    boss: Identity,
    mailbox: MailSink,
) -> None:
    for _ in range(settings.lockout_threshold):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            _login(uow, settings, "mcurie", "guess guess guess")
    assert "login.lockout" in _actions(uow)
    with pytest.raises(AuthenticationError, match="locked until"):
        _login(uow, settings, "mcurie", DEFAULT_PASSWORD)
    messages = mailbox.wait_for(1)
    assert messages, "an alert reaches the admins within seconds"
    assert messages[0]["To"] == "boss@lab.example"
    assert "mcurie" in messages[0].get_content()
    assert users.load_identity(uow, scientist.user_id, {}) is None, "refused per request too"


@pytest.mark.req("P11-32")
def test_a_success_resets_the_failure_count(
    uow: UnitOfWork, settings: Settings, scientist: Identity
) -> None:
    for _ in range(settings.lockout_threshold - 1):
        with pytest.raises(AuthenticationError):
            _login(uow, settings, "mcurie", "nope nope nope")
    _login(uow, settings, "mcurie", DEFAULT_PASSWORD)
    user = uow.session.get(User, scientist.user_id)
    assert user is not None
    assert user.failed_logins == 0


@pytest.mark.req("P11-32")
@pytest.mark.parametrize("password", ["", " ", "\t"])
def test_empty_passwords_never_authenticate(
    uow: UnitOfWork, settings: Settings, scientist: Identity, password: str
) -> None:
    with pytest.raises(AuthenticationError):
        _login(uow, settings, "mcurie", password)


@pytest.mark.req("P11-29", "P11-33")
def test_admin_reset_gives_a_one_time_password_that_must_be_changed(
    resources: Resources,
    uow: UnitOfWork,
    settings: Settings,
    scientist: Identity,
    boss: Identity,
    mailbox: MailSink,
) -> None:
    user = uow.session.get(User, scientist.user_id)
    assert user is not None
    user.email = "marie@lab.example"
    ctx = resources.service_context(uow, boss)
    one_time = admin.reset_password(ctx, scientist.user_id, reason="forgotten")
    uow.commit()
    assert mailbox.wait_for(1)[0]["To"] == "marie@lab.example"
    result = _login(uow, settings, "mcurie", one_time)
    assert result.must_change_password
    with pytest.raises(UserError, match="was used recently"):
        change_password(uow, settings, result.identity, current=one_time, new=one_time)
    change_password(uow, settings, result.identity, current=one_time, new="a brand new secret")
    uow.commit()
    assert not _login(uow, settings, "mcurie", "a brand new secret").must_change_password
    with pytest.raises(AuthenticationError):
        _login(uow, settings, "mcurie", DEFAULT_PASSWORD)


@pytest.mark.req("P11-31")
def test_an_expired_password_forces_a_change(
    uow: UnitOfWork, settings: Settings, scientist: Identity
) -> None:
    user = uow.session.get(User, scientist.user_id)
    assert user is not None
    assert user.password_changed_at is not None
    user.password_changed_at -= dt.timedelta(days=91)  # time travel
    uow.commit()
    aged = settings.replace(password_max_age_days=90)
    assert _login(uow, aged, "mcurie", DEFAULT_PASSWORD).must_change_password
    assert not _login(uow, settings, "mcurie", DEFAULT_PASSWORD).must_change_password


def test_password_policy_is_enforced(
    uow: UnitOfWork, settings: Settings, scientist: Identity
) -> None:
    result = _login(uow, settings, "mcurie", DEFAULT_PASSWORD)
    with pytest.raises(UserError, match="at least 12 characters"):
        change_password(uow, settings, result.identity, current=DEFAULT_PASSWORD, new="short")
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        change_password(uow, settings, result.identity, current="wrong", new="long enough pw 1")


@pytest.mark.req("P11-30", "P11-23")
def test_user_names_are_unique_after_normalisation_and_never_reused(
    resources: Resources, uow: UnitOfWork, boss: Identity, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, boss)
    with pytest.raises(ConflictError, match="never reused"):
        users.create_user(ctx, username="MCurie", display_name="Other", password="x" * 12)
    admin.retire_user(ctx, scientist.user_id, reason="left the lab")
    uow.commit()
    with pytest.raises(ConflictError, match="never reused"):
        users.create_user(ctx, username="mcurie", display_name="New", password="x" * 12)


@pytest.mark.req("P11-13", "P11-14")
def test_only_an_admin_manages_users_and_an_admin_alters_no_record(
    resources: Resources, uow: UnitOfWork, boss: Identity, scientist: Identity
) -> None:
    with pytest.raises(PermissionDeniedError):
        admin.set_active(
            resources.service_context(uow, scientist), boss.user_id, active=False, reason="coup"
        )
    from lims.services import catalogue

    admin_ctx = resources.service_context(uow, boss)
    project = catalogue.create_project(admin_ctx, name="Battery")
    with pytest.raises(PermissionDeniedError, match="create or change samples"):
        catalogue.create_sample(admin_ctx, project_name=project.name, name="Cell 7")


@pytest.mark.req("P11-13")
def test_project_membership_decides_what_a_user_sees(
    resources: Resources, uow: UnitOfWork, boss: Identity
) -> None:
    from lims.errors import NotFoundError
    from lims.services import catalogue

    admin_ctx = resources.service_context(uow, boss)
    a = catalogue.create_project(admin_ctx, name="A")
    b = catalogue.create_project(admin_ctx, name="B")
    member = make_user(uow, "member", roles=set(), project_roles={a.id: {Role.MICROSCOPIST}})
    ctx = resources.service_context(uow, member)
    assert [p.name for p in catalogue.list_projects(ctx)] == ["A"]
    catalogue.create_sample(ctx, project_name="A", name="s1")
    with pytest.raises(NotFoundError):
        catalogue.get_project(ctx, b.id)
    with pytest.raises(NotFoundError):
        catalogue.create_sample(ctx, project_name="B", name="s1")


def test_admin_changes_need_a_reason_and_are_audited(
    resources: Resources, uow: UnitOfWork, boss: Identity, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, boss)
    with pytest.raises(UserError, match="needs a reason"):
        admin.grant_role(ctx, scientist.user_id, Role.REVIEWER, reason=" ")
    admin.grant_role(ctx, scientist.user_id, Role.REVIEWER, reason="QA cover in August")
    with pytest.raises(ConflictError, match="there already"):
        admin.grant_role(ctx, scientist.user_id, Role.REVIEWER, reason="again")
    admin.set_active(ctx, scientist.user_id, active=False, reason="on leave")
    assert _actions(uow)[-2:] == ["user.role_grant", "user.disable"]
    assert users.load_identity(uow, scientist.user_id, {}) is None


@pytest.mark.req("DI-04")
@pytest.mark.parametrize("name", ["lab", "admin2", "user1", "shared", "QA"])
def test_generic_shared_logins_are_refused(
    resources: Resources, uow: UnitOfWork, boss: Identity, name: str
) -> None:
    with pytest.raises(UserError, match="shared or generic login"):
        users.create_user(
            resources.service_context(uow, boss),
            username=name,
            display_name="Someone",
            password="x" * 12,
        )


@pytest.mark.req("DI-04", "P11-14")
def test_admin_and_data_roles_are_kept_apart(
    resources: Resources, uow: UnitOfWork, boss: Identity, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, boss)
    with pytest.raises(ConflictError, match="segregation of duties"):
        admin.grant_role(ctx, scientist.user_id, Role.ADMIN, reason="promotion")
    with pytest.raises(ConflictError, match="segregation of duties"):
        admin.grant_role(ctx, boss.user_id, Role.REVIEWER, reason="help QA")
    with pytest.raises(ConflictError, match="segregation of duties"):
        users.create_user(
            ctx,
            username="mixed",
            display_name="Mixed",
            password="x" * 12,
            roles=frozenset({Role.ADMIN, Role.MICROSCOPIST}),
        )


@pytest.mark.req("A11-16", "DI-04")
def test_who_held_a_role_on_a_date_includes_past_holders(
    resources: Resources, uow: UnitOfWork, boss: Identity, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, boss)
    assignment = admin.grant_role(ctx, scientist.user_id, Role.REVIEWER, reason="QA cover")
    admin.revoke_role(ctx, assignment.id, reason="cover ended")
    uow.session.flush()
    day = lambda d: dt.datetime(2026, 1, d, tzinfo=dt.UTC)  # noqa: E731
    with as_owner(uow.session):  # time travel: place the grant in January 10..20
        uow.session.execute(
            update(RoleAssignment)
            .where(RoleAssignment.id == assignment.id)
            .values(granted_at=day(10), revoked_at=day(20))
        )
    uow.session.expire_all()
    names = lambda at: [u.username for u, _ in admin.role_holders(ctx, Role.REVIEWER, at)]  # noqa: E731
    assert names(day(5)) == []
    assert names(day(15)) == ["mcurie"]
    assert names(day(25)) == []
