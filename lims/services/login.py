"""Logging in: local passwords or the directory, lockout, provisioning, password changes.

Every attempt is audited. Failed attempts (wrong password, unknown user) are committed even
though the login is refused, and they count toward a lockout (Part 11 §11.300(d)).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from lims.auth.identity import Identity
from lims.auth.passwords import hash_password, verify_password
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError, UserError
from lims.models import PasswordHistory, RoleAssignment, User
from lims.models.users import normalize_username
from lims.notify import send_mail
from lims.services.passwords import check_new_password
from lims.services.users import find_user, identity_of, insert_user
from lims.settings import Settings

DIRECTORY_REASON = "directory group mapping"
WRONG_CREDENTIALS = "wrong user name or password"


class DirectoryUserLike(Protocol):
    """What ctvault needs to know about a directory account."""

    @property
    def username(self) -> str:
        """The user id as the directory spells it."""
        ...

    @property
    def display_name(self) -> str:
        """The printed name."""
        ...

    @property
    def email(self) -> str | None:
        """The mail address, if any."""
        ...

    @property
    def directory_uuid(self) -> str:
        """The entry's immutable id (entryUUID / objectGUID)."""
        ...

    @property
    def roles(self) -> frozenset[str]:
        """The ctvault roles mapped from the entry's groups."""
        ...


class Directory(Protocol):
    """A user directory (LDAP) that checks passwords and finds accounts."""

    def authenticate(self, username: str, password: str) -> DirectoryUserLike:
        """Check the credentials; raise AuthenticationError if they are wrong."""
        ...

    def lookup(self, username: str) -> DirectoryUserLike | None:
        """The account, or None when it is gone or disabled."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login; ``must_change_password`` sends the user to the change form."""

    identity: Identity
    must_change_password: bool


def _now(session: Session) -> dt.datetime:
    moment: dt.datetime = session.execute(select(func.now())).scalar_one()
    return moment


def authenticate(
    uow: UnitOfWork,
    settings: Settings,
    *,
    username: str,
    password: str,
    context: dict[str, str],
    directory: Directory | None = None,
) -> LoginResult:
    """Check a user id and password and commit the audited outcome.

    Raises:
        AuthenticationError: wrong credentials, locked, disabled or role-less account (one
            message for unknown users and wrong passwords, so names are not revealed).
    """
    session = uow.session
    user = find_user(session, username)
    now = _now(session)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _fail(
            uow,
            user,
            username=username,
            context=context,
            action="login.refused",
            why="account locked",
        )
        raise AuthenticationError(
            f"this account is locked until {user.locked_until:%Y-%m-%d %H:%M} UTC after "
            "repeated failed attempts; an administrator can unlock it"
        )
    if user is not None and (not user.is_active or user.retired_at is not None):
        _fail(
            uow,
            user,
            username=username,
            context=context,
            action="login.refused",
            why="account disabled",
        )
        raise AuthenticationError("this account is disabled; ask an administrator")
    if directory is not None and (user is None or user.auth_source == "ldap"):
        return _directory_login(
            uow,
            settings,
            directory,
            user=user,
            username=username,
            password=password,
            context=context,
        )
    if user is None or not verify_password(user.password_hash, password):
        _count_failure(uow, settings, user, username, context)
        raise AuthenticationError(WRONG_CREDENTIALS)
    return _succeed(uow, settings, user, context)


def _directory_login(
    uow: UnitOfWork,
    settings: Settings,
    directory: Directory,
    *,
    user: User | None,
    username: str,
    password: str,
    context: dict[str, str],
) -> LoginResult:
    try:
        entry = directory.authenticate(username, password)
    except AuthenticationError:
        _count_failure(uow, settings, user, username, context)
        raise
    user = provision(uow.session, entry, user)
    return _succeed(uow, settings, user, context)


def provision(session: Session, entry: DirectoryUserLike, user: User | None) -> User:
    """Create or refresh the account of a directory user, with roles from its groups.

    Raises:
        AuthenticationError: the name belongs to a local account or to another directory
            entry (a re-used user id), or the user holds no ctvault role.
    """
    actor = Actor(None, f"system:directory ({entry.username})", {"via": "ldap"})
    by_uuid = session.scalars(
        select(User).where(User.directory_uuid == entry.directory_uuid)
    ).first()
    if by_uuid is None and user is not None:
        reason = (
            "a local account"
            if user.auth_source == "local"
            else "a different directory entry (the user id was reused)"
        )
        record(
            session,
            actor,
            EventDraft(
                "login.refused",
                "user",
                str(user.id),
                {"directory_uuid": entry.directory_uuid},
                reason=f"name belongs to {reason}",
            ),
        )
        session.commit()
        raise AuthenticationError(
            f"the user name {entry.username!r} belongs to {reason}; an administrator must "
            "review it before this account can log in"
        )
    roles = frozenset(Role(r) for r in entry.roles)
    if by_uuid is None:
        if not roles:
            raise AuthenticationError("your directory account has no ctvault role; ask IT")
        return insert_user(
            session,
            actor,
            username=entry.username,
            display_name=entry.display_name,
            password=None,
            email=entry.email,
            roles=roles,
            auth_source="ldap",
            directory_uuid=entry.directory_uuid,
            reason=DIRECTORY_REASON,
        )
    _refresh(session, actor, by_uuid, entry, roles)
    return by_uuid


def _refresh(
    session: Session, actor: Actor, user: User, entry: DirectoryUserLike, roles: frozenset[Role]
) -> None:
    changes: dict[str, list[object]] = {}
    for field, value in (
        ("username", normalize_username(entry.username)),
        ("display_name", entry.display_name),
        ("email", entry.email),
    ):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    granted = {
        a.role: a
        for a in user.role_assignments
        if a.project_id is None and a.revoked_at is None and a.reason == DIRECTORY_REASON
    }
    now = _now(session)
    for role in roles - {Role(r) for r in granted}:
        session.add(RoleAssignment(user_id=user.id, role=role.value, reason=DIRECTORY_REASON))
    for name, assignment in granted.items():
        if Role(name) not in roles:
            assignment.revoked_at, assignment.revoke_reason = now, "no longer in the group"
    old = sorted(granted)
    new = sorted(r.value for r in roles)
    if old != new:
        changes["directory_roles"] = [old, new]
    session.flush()
    if changes:
        record(
            session,
            actor,
            EventDraft(
                "user.update",
                "user",
                str(user.id),
                changes,
                reason="refreshed from the directory at login",
            ),
        )
    session.expire(user, ["role_assignments"])


def _succeed(
    uow: UnitOfWork, settings: Settings, user: User, context: dict[str, str]
) -> LoginResult:
    session = uow.session
    identity = identity_of(session, user, context)
    if not identity.roles and not identity.project_roles:
        _fail(
            uow,
            user,
            username=user.username,
            context=context,
            action="login.refused",
            why="no role",
        )
        raise AuthenticationError("your account has no ctvault role; ask an administrator")
    now = _now(session)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    expired = (
        user.auth_source == "local"
        and settings.password_max_age_days > 0
        and user.password_changed_at is not None
        and now - user.password_changed_at > dt.timedelta(days=settings.password_max_age_days)
    )
    must_change = user.auth_source == "local" and (user.must_change_password or expired)
    record(
        session,
        Actor(user.id, identity.printed_name, context),
        EventDraft(
            "login.success",
            "user",
            str(user.id),
            {"must_change_password": must_change} if must_change else {},
        ),
    )
    uow.commit()
    return LoginResult(identity, must_change)


def _fail(
    uow: UnitOfWork,
    user: User | None,
    *,
    username: str,
    context: dict[str, str],
    action: str,
    why: str,
) -> None:
    record(
        uow.session,
        Actor(user.id if user else None, username[:300], context),
        EventDraft(
            action,
            "user",
            str(user.id) if user else normalize_username(username)[:100],
            reason=why,
        ),
    )
    uow.commit()


def _count_failure(
    uow: UnitOfWork, settings: Settings, user: User | None, username: str, context: dict[str, str]
) -> None:
    session = uow.session
    if user is None:
        _fail(
            uow,
            None,
            username=username,
            context=context,
            action="login.failure",
            why="unknown user or wrong password",
        )
        return
    user.failed_logins += 1
    locked = user.failed_logins >= settings.lockout_threshold
    if locked:
        minutes = settings.lockout_minutes
        user.locked_until = _now(session) + (
            dt.timedelta(minutes=minutes) if minutes > 0 else dt.timedelta(days=365 * 100)
        )
        record(
            session,
            Actor(user.id, username[:300], context),
            EventDraft(
                "login.lockout",
                "user",
                str(user.id),
                {
                    "failed_logins": user.failed_logins,
                    "locked_until": user.locked_until.isoformat(),
                },
                reason=f"{user.failed_logins} consecutive failed attempts",
            ),
        )
        recipients = _admin_emails(session, settings)
        body = (
            f"The account {user.username} was locked after {user.failed_logins} failed "
            f"attempts (last from {context.get('ip', context.get('via', '?'))})."
        )
        uow.after_commit(lambda: send_mail(settings, recipients, "account locked", body))
    _fail(
        uow, user, username=username, context=context, action="login.failure", why="wrong password"
    )


def _admin_emails(session: Session, settings: Settings) -> Sequence[str]:
    emails = session.scalars(
        select(User.email)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.ADMIN.value,
            RoleAssignment.project_id.is_(None),
            RoleAssignment.revoked_at.is_(None),
            User.email.is_not(None),
            User.is_active,
        )
    )
    return [
        *(e for e in emails if e),
        *([settings.security_email] if settings.security_email else []),
    ]


def change_password(
    uow: UnitOfWork, settings: Settings, identity: Identity, *, current: str, new: str
) -> None:
    """A local user changes their own password (also clears a forced change).

    Raises:
        AuthenticationError: the current password is wrong (counts toward lockout).
        UserError: the new password breaks the policy (length, reuse).
    """
    session = uow.session
    user = session.get(User, identity.user_id)
    if user is None or user.auth_source != "local":
        raise UserError("directory passwords are changed in the directory, not in ctvault")
    if not verify_password(user.password_hash, current):
        _count_failure(uow, settings, user, user.username, identity.context)
        raise AuthenticationError("the current password is wrong")
    earlier = list(
        session.scalars(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.created_at.desc())
            .limit(max(settings.password_history, 1))
        )
    )
    check_new_password(new, min_length=settings.password_min_length, earlier_hashes=earlier)
    user.password_hash = hash_password(new)
    user.password_changed_at = _now(session)
    user.must_change_password = False
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    record(
        session,
        Actor(user.id, identity.printed_name, identity.context),
        EventDraft(
            "user.password_change", "user", str(user.id), {"must_change_password": [True, False]}
        ),
    )


def still_enabled_in_directory(
    uow: UnitOfWork, identity: Identity, directory: Directory | None
) -> bool:
    """Whether a logged-in directory user still exists and is enabled there.

    Called per request (at most every CTVAULT_LDAP_RECHECK_S): a user disabled in the
    directory is refused at the next request, not only at the next login. A refusal is
    audited. Local accounts and setups without a directory always pass.
    """
    user = uow.session.get(User, identity.user_id)
    if directory is None or user is None or user.auth_source != "ldap":
        return True
    entry = directory.lookup(user.username)
    if entry is not None and entry.directory_uuid == user.directory_uuid:
        return True
    record(
        uow.session,
        Actor(user.id, identity.printed_name, identity.context),
        EventDraft(
            "session.end",
            "user",
            str(user.id),
            reason="disabled or removed in the directory",
        ),
    )
    uow.commit()
    return False
