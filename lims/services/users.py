"""User accounts: create local users, authenticate them, look them up."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from lims.auth.identity import Identity, require_admin
from lims.auth.passwords import check_password_policy, hash_password, verify_password
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError, ConflictError, NotFoundError, UserError
from lims.models import User
from lims.models.users import normalize_username
from lims.services.context import ServiceContext


def _find(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(User.username == normalize_username(username))
    ).first()


def _insert_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    email: str | None,
    is_admin: bool,
) -> User:
    name = normalize_username(username)
    if not name or any(c.isspace() for c in name):
        raise UserError("a user name cannot be empty or contain spaces")
    if _find(session, name) is not None:
        raise ConflictError(f"user name {name!r} is taken (ids are never reused)")
    problems = check_password_policy(password)
    if problems:
        raise UserError("; ".join(problems))
    user = User(
        username=name,
        display_name=display_name.strip() or name,
        email=email,
        password_hash=hash_password(password),
        is_admin=is_admin,
        is_active=True,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        EventDraft(
            action="user.create",
            object_type="user",
            object_id=str(user.id),
            changes={
                "username": [None, name],
                "display_name": [None, user.display_name],
                "is_admin": [None, is_admin],
            },
        ),
    )
    return user


def create_user(
    ctx: ServiceContext,
    *,
    username: str,
    display_name: str,
    password: str,
    email: str | None = None,
    is_admin: bool = False,
) -> User:
    """An administrator creates a local account.

    Raises:
        PermissionDeniedError: the caller is not an administrator.
        ConflictError: the user name exists (or existed: ids are never reused).
        UserError: the password breaks the policy.
    """
    require_admin(ctx.require_identity(), "create users")
    return _insert_user(
        ctx.uow.session,
        ctx.actor(),
        username=username,
        display_name=display_name,
        password=password,
        email=email,
        is_admin=is_admin,
    )


def bootstrap_admin(uow: UnitOfWork, *, username: str, password: str) -> User | None:
    """Create the first administrator if there are no users at all; else do nothing."""
    session = uow.session
    if session.scalar(select(func.count()).select_from(User)):
        return None
    return _insert_user(
        session,
        Actor.system("first start"),
        username=username,
        display_name="Administrator",
        password=password,
        email=None,
        is_admin=True,
    )


def authenticate(
    uow: UnitOfWork, username: str, password: str, context: dict[str, str]
) -> Identity:
    """Check a local user id and password; every attempt is audited.

    Raises:
        AuthenticationError: unknown user, wrong password or inactive account (one message,
            so the reply does not reveal which user names exist).
    """
    session = uow.session
    user = _find(session, username)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        record(
            session,
            Actor(user.id if user else None, username[:300], context),
            EventDraft(
                action="login.failure",
                object_type="user",
                object_id=str(user.id) if user else normalize_username(username)[:100],
            ),
        )
        uow.commit()
        raise AuthenticationError("wrong user name or password")
    user.last_login_at = session.scalar(select(func.transaction_timestamp()))
    identity = identity_of(user, context)
    record(
        session,
        Actor(user.id, identity.printed_name, context),
        EventDraft(
            action="login.success",
            object_type="user",
            object_id=str(user.id),
        ),
    )
    uow.commit()
    return identity


def record_logout(uow: UnitOfWork, identity: Identity) -> None:
    """Audit a logout (the caller commits)."""
    record(
        uow.session,
        Actor(identity.user_id, identity.printed_name, identity.context),
        EventDraft(action="logout", object_type="user", object_id=str(identity.user_id)),
    )


def identity_of(user: User, context: dict[str, str] | None = None) -> Identity:
    """The Identity of a loaded user row."""
    return Identity(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        is_admin=user.is_admin,
        context=dict(context or {}),
    )


def load_identity(uow: UnitOfWork, user_id: uuid.UUID, context: dict[str, str]) -> Identity | None:
    """The identity of an active user by id, or None if the account is gone or disabled."""
    user = uow.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return identity_of(user, context)


def identity_by_name(uow: UnitOfWork, username: str, context: dict[str, str]) -> Identity:
    """The identity of an active user by name (for the CLI, after its password check).

    Raises:
        NotFoundError: no such active user.
    """
    user = _find(uow.session, username)
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user {username!r}")
    return identity_of(user, context)
