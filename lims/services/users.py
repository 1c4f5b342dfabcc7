"""User accounts: create local users, build identities with their roles, look users up."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from lims.auth.identity import Identity, require
from lims.auth.passwords import hash_password
from lims.auth.roles import Permission, Role
from lims.db.uow import UnitOfWork
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import PasswordHistory, RoleAssignment, User
from lims.models.users import normalize_username
from lims.services.context import ServiceContext
from lims.services.passwords import check_new_password

MAX_USERNAME_LENGTH = 150
GENERIC_NAMES = re.compile(
    r"^(admin|administrator|root|lab|labor|user|test|guest|shared|team|group|ctvault|"
    r"microscope|instrument|operator|qa|reviewer)[-_.]?\d*$"
)


def find_user(session: Session, username: str) -> User | None:
    """A user (of any state) by user name, compared after normalisation."""
    return session.scalars(
        select(User).where(User.username == normalize_username(username))
    ).first()


def validate_username(username: str) -> str:
    """The normalised user name, or a UserError saying what is wrong with it."""
    name = normalize_username(username)
    if not name or any(c.isspace() or not c.isprintable() for c in name):
        raise UserError("a user name cannot be empty or contain spaces or control characters")
    if len(name) > MAX_USERNAME_LENGTH:
        raise UserError(f"a user name has at most {MAX_USERNAME_LENGTH} characters")
    return name


def insert_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str | None,
    email: str | None,
    roles: frozenset[Role],
    min_length: int = 12,
    auth_source: str = "local",
    directory_uuid: str | None = None,
    reason: str,
    must_change_password: bool = False,
) -> User:
    """Create an account with its global roles, audited (ids are never reused)."""
    name = validate_username(username)
    if find_user(session, name) is not None:
        raise ConflictError(f"user name {name!r} is taken (ids are never reused)")
    if password is not None:
        check_new_password(password, min_length=min_length, earlier_hashes=())
    user = User(
        username=name,
        display_name=" ".join(display_name.split()) or name,
        email=email or None,
        auth_source=auth_source,
        directory_uuid=directory_uuid,
        password_hash=hash_password(password) if password is not None else None,
        must_change_password=must_change_password,
        is_active=True,
    )
    session.add(user)
    session.flush()
    if user.password_hash:
        user.password_changed_at = session.scalar(select(func.transaction_timestamp()))
        session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    for role in sorted(roles):
        session.add(
            RoleAssignment(
                user_id=user.id, role=role.value, reason=reason, granted_by_id=actor.user_id
            )
        )
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
                "auth_source": [None, auth_source],
                "roles": [None, sorted(r.value for r in roles)],
            },
            reason=reason,
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
    roles: frozenset[Role] = frozenset({Role.VIEWER}),
    reason: str = "new account",
) -> User:
    """An administrator creates a local account; it must change its password at first login.

    Raises:
        PermissionDeniedError: the caller may not manage users.
        ConflictError: the user name exists (or existed: ids are never reused).
        UserError: the password breaks the policy.
    """
    require(ctx.require_identity(), Permission.USER_MANAGE, action="create users")
    if not reason.strip():
        raise UserError("creating an account needs a reason")
    if GENERIC_NAMES.match(normalize_username(username)):
        raise UserError(
            f"{username!r} looks like a shared or generic login; every account belongs to one "
            "person (use their own user id)"
        )
    if Role.ADMIN in roles and roles & {Role.MICROSCOPIST, Role.REVIEWER}:
        raise ConflictError(
            "segregation of duties: admin cannot be combined with microscopist or reviewer"
        )
    return insert_user(
        ctx.uow.session,
        ctx.actor(),
        username=username,
        display_name=display_name,
        password=password,
        email=email,
        roles=roles,
        min_length=ctx.settings.password_min_length,
        reason=reason.strip(),
        must_change_password=True,
    )


def bootstrap_admin(uow: UnitOfWork, *, username: str, password: str) -> User | None:
    """Create the first administrator if there are no users at all; else do nothing.

    The first account also holds the microscopist role, so a one-person trial can ingest;
    a lab separates these duties by creating its own accounts (DESIGN.md roles).
    """
    session = uow.session
    if session.scalar(select(func.count()).select_from(User)):
        return None
    return insert_user(
        session,
        Actor.system("first start"),
        username=username,
        display_name="Administrator",
        password=password,
        email=None,
        roles=frozenset({Role.ADMIN, Role.MICROSCOPIST}),
        reason="first administrator of a new installation",
    )


def active_roles(
    session: Session, user_id: uuid.UUID
) -> tuple[frozenset[Role], dict[uuid.UUID, frozenset[Role]]]:
    """The user's global roles and roles per project (revoked assignments excluded)."""
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.project_id).where(
            RoleAssignment.user_id == user_id, RoleAssignment.revoked_at.is_(None)
        )
    )
    global_roles: set[Role] = set()
    per_project: dict[uuid.UUID, set[Role]] = {}
    for role, project_id in rows:
        if project_id is None:
            global_roles.add(Role(role))
        else:
            per_project.setdefault(project_id, set()).add(Role(role))
    return frozenset(global_roles), {p: frozenset(r) for p, r in per_project.items()}


def identity_of(
    session: Session, user: User, context: dict[str, str] | None = None, *, via_token: bool = False
) -> Identity:
    """The Identity of a loaded user row, with its current roles."""
    roles, project_roles = active_roles(session, user.id)
    return Identity(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=roles,
        project_roles=project_roles,
        context=dict(context or {}),
        via_token=via_token,
        auth_source=user.auth_source,
    )


def load_identity(uow: UnitOfWork, user_id: uuid.UUID, context: dict[str, str]) -> Identity | None:
    """The identity of a usable account by id, or None if it is disabled, retired or locked."""
    session = uow.session
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.retired_at is not None:
        return None
    now: dt.datetime = session.execute(select(func.now())).scalar_one()
    if user.locked_until is not None and user.locked_until > now:
        return None
    return identity_of(session, user, context)


def identity_by_name(uow: UnitOfWork, username: str, context: dict[str, str]) -> Identity:
    """The identity of an active user by name.

    Raises:
        NotFoundError: no such active user.
    """
    user = find_user(uow.session, username)
    identity = load_identity(uow, user.id, context) if user else None
    if identity is None:
        raise NotFoundError(f"no active user {username!r}")
    return identity


def record_logout(uow: UnitOfWork, identity: Identity) -> None:
    """Audit a logout (the caller commits)."""
    record(
        uow.session,
        Actor(identity.user_id, identity.printed_name, identity.context),
        EventDraft(action="logout", object_type="user", object_id=str(identity.user_id)),
    )


def get_user(ctx: ServiceContext, user_id: uuid.UUID) -> User:
    """One account by id (administrators only).

    Raises:
        NotFoundError: no such user.
    """
    require(ctx.require_identity(), Permission.USER_MANAGE, action="see user accounts")
    user = ctx.uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError("no such user")
    return user


def list_users(ctx: ServiceContext) -> list[User]:
    """Every account, by user name (administrators only)."""
    require(ctx.require_identity(), Permission.USER_MANAGE, action="list users")
    return list(ctx.uow.session.scalars(select(User).order_by(User.username)))
