"""Logging in through the real directory: provisioning, roles from groups, refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from audit import AuditEvent
from lims.auth.ldap import DirectoryUnavailableError, LdapDirectory
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError
from lims.models import User
from lims.services.login import LoginResult, authenticate
from lims.settings import Settings
from tests.factories import DEFAULT_PASSWORD
from tests.integration.auth.conftest import NEW_USER_PASSWORD
from tests.ldap_server import SlapdServer


def _login(
    uow: UnitOfWork, settings: Settings, directory: LdapDirectory, username: str, password: str
) -> LoginResult:
    return authenticate(
        uow,
        settings,
        username=username,
        password=password,
        context={"ip": "127.0.0.1"},
        directory=directory,
    )


def _actions(uow: UnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.req("P11-23", "P11-13")
def test_first_login_provisions_the_user_with_roles_from_groups(
    uow: UnitOfWork, ldap_settings: Settings, directory: LdapDirectory
) -> None:
    result = _login(uow, ldap_settings, directory, "mcurie", "radium-1898")
    assert result.identity.display_name == "Marie Curie"
    assert result.identity.roles == frozenset({Role.MICROSCOPIST})
    assert not result.must_change_password
    user = uow.session.scalars(select(User).where(User.username == "mcurie")).one()
    assert user.auth_source == "ldap"
    assert user.directory_uuid
    assert user.password_hash is None, "ctvault never stores a directory password"
    assert _actions(uow)[-2:] == ["user.create", "login.success"]


@pytest.mark.req("P11-31")
def test_group_change_is_reflected_at_next_login(
    uow: UnitOfWork,
    ldap_settings: Settings,
    directory: LdapDirectory,
    slapd: SlapdServer,
    new_user: Callable[..., str],
) -> None:
    uid = new_user("ct-microscopists")
    first = _login(uow, ldap_settings, directory, uid, NEW_USER_PASSWORD)
    assert first.identity.roles == frozenset({Role.MICROSCOPIST})
    slapd.remove_from_group(uid, "ct-microscopists")
    slapd.add_to_group(uid, "qa-reviewers")
    second = _login(uow, ldap_settings, directory, uid, NEW_USER_PASSWORD)
    assert second.identity.roles == frozenset({Role.REVIEWER})
    assert "user.update" in _actions(uow)


@pytest.mark.req("P11-26", "P11-32")
def test_wrong_password_is_refused_audited_and_counted(
    uow: UnitOfWork,
    ldap_settings: Settings,
    directory: LdapDirectory,
    new_user: Callable[..., str],
) -> None:
    uid = new_user("ct-microscopists")
    _login(uow, ldap_settings, directory, uid, NEW_USER_PASSWORD)
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        _login(uow, ldap_settings, directory, uid, "not the password")
    user = uow.session.scalars(select(User).where(User.username == uid)).one()
    assert user.failed_logins == 1
    assert _actions(uow)[-1] == "login.failure"


def test_unknown_user_gets_the_same_message(
    uow: UnitOfWork, ldap_settings: Settings, directory: LdapDirectory
) -> None:
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        _login(uow, ldap_settings, directory, "nobody-here", "whatever-123")
    assert _actions(uow)[-1] == "login.failure"


def test_user_in_no_mapped_group_is_refused(
    uow: UnitOfWork, ldap_settings: Settings, directory: LdapDirectory
) -> None:
    with pytest.raises(AuthenticationError, match="no ctvault role"):
        _login(uow, ldap_settings, directory, "nogroup", "lonely-7")
    assert uow.session.scalars(select(User).where(User.username == "nogroup")).first() is None


@pytest.mark.req("P11-23", "P11-30")
def test_a_reused_user_id_is_blocked_until_an_admin_reviews_it(
    uow: UnitOfWork,
    ldap_settings: Settings,
    directory: LdapDirectory,
    slapd: SlapdServer,
    new_user: Callable[..., str],
) -> None:
    uid = new_user("ct-microscopists")
    original = _login(uow, ldap_settings, directory, uid, NEW_USER_PASSWORD).identity
    slapd.delete_user(uid)
    new_user("ct-microscopists", uid=uid)  # same name, new entry, new entryUUID
    with pytest.raises(AuthenticationError, match="different directory entry"):
        _login(uow, ldap_settings, directory, uid, NEW_USER_PASSWORD)
    user = uow.session.get(User, original.user_id)
    assert user is not None
    assert user.username == uid, "the old account keeps its id and its records"


def test_a_local_account_keeps_its_local_password_beside_the_directory(
    uow: UnitOfWork, ldap_settings: Settings, directory: LdapDirectory, scientist: object
) -> None:
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        _login(uow, ldap_settings, directory, "mcurie", "radium-1898")
    result = _login(uow, ldap_settings, directory, "mcurie", DEFAULT_PASSWORD)
    assert result.identity.username == "mcurie"
    user = uow.session.scalars(select(User).where(User.username == "mcurie")).one()
    assert user.auth_source == "local"


def test_directory_down_says_so_plainly(uow: UnitOfWork, ldap_settings: Settings) -> None:
    down = ldap_settings.replace(ldap_url="ldaps://127.0.0.1:1", ldap_timeout_s=1)
    with pytest.raises(DirectoryUnavailableError, match="cannot be reached"):
        _login(uow, down, LdapDirectory(down), "mcurie", "radium-1898")
