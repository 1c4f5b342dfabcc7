"""Administering people: roles and project membership, disabling, unlocking, resets.

Every change needs a reason and is audited. Administrators manage access; they cannot set a
directory user's password, and a reset local password must be changed at first use.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from audit import EventDraft
from lims.auth.passwords import generate_password, hash_password
from lims.auth.roles import Permission, Role
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import PasswordHistory, Project, RoleAssignment, User
from lims.notify import send_mail
from lims.services import access
from lims.services.context import ServiceContext


def _why(reason: str) -> str:
    if not reason.strip():
        raise UserError("this change needs a reason")
    return reason.strip()


def _user(ctx: ServiceContext, user_id: uuid.UUID) -> User:
    access.check(ctx, Permission.USER_MANAGE)
    user = ctx.uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError("no such user")
    return user


def _now(ctx: ServiceContext) -> dt.datetime:
    moment: dt.datetime = ctx.uow.session.execute(select(func.now())).scalar_one()
    return moment


# Roles an administrator may not hold at the same time (DI-04: admin rights apart from the
# people who generate or review data). The first account of a new installation is the one
# documented exception, so a single person can try ctvault out.
DATA_ROLES = frozenset({Role.MICROSCOPIST, Role.REVIEWER})


def check_segregation(held: set[Role], added: Role) -> None:
    """Refuse giving ``added`` to someone holding ``held`` when it mixes admin and data roles.

    Raises:
        ConflictError: naming the conflict.
    """
    if (added is Role.ADMIN and held & DATA_ROLES) or (added in DATA_ROLES and Role.ADMIN in held):
        clash = (
            "admin"
            if added is not Role.ADMIN
            else ", ".join(sorted(r.value for r in held & DATA_ROLES))
        )
        raise ConflictError(
            f"segregation of duties: {added.value} cannot be combined with {clash}; "
            "administrators do not generate or review data"
        )


def grant_role(
    ctx: ServiceContext,
    user_id: uuid.UUID,
    role: Role,
    *,
    project_id: uuid.UUID | None = None,
    reason: str,
) -> RoleAssignment:
    """Give a user a role, globally or within one project (project membership).

    Raises:
        ConflictError: the user holds that role there already.
    """
    why = _why(reason)
    user = _user(ctx, user_id)
    if project_id is not None and ctx.uow.session.get(Project, project_id) is None:
        raise NotFoundError("no such project")
    if role is Role.ADMIN and project_id is not None:
        raise UserError("the admin role is global; it cannot be given within a project")
    held = ctx.uow.session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role.value,
            RoleAssignment.project_id.is_(None)
            if project_id is None
            else RoleAssignment.project_id == project_id,
            RoleAssignment.revoked_at.is_(None),
        )
    )
    if held is not None:
        raise ConflictError(f"{user.username} is {role.value} there already")
    check_segregation({Role(a.role) for a in user.role_assignments if a.revoked_at is None}, role)
    assignment = RoleAssignment(
        user_id=user.id,
        role=role.value,
        project_id=project_id,
        reason=why,
        granted_by_id=ctx.require_identity().user_id,
    )
    ctx.uow.session.add(assignment)
    ctx.uow.session.flush()
    ctx.audit(
        EventDraft(
            "user.role_grant",
            "user",
            str(user.id),
            {
                "role": [None, role.value],
                "project_id": [None, str(project_id) if project_id else None],
            },
            reason=why,
        )
    )
    return assignment


def revoke_role(ctx: ServiceContext, assignment_id: uuid.UUID, *, reason: str) -> None:
    """End a role assignment (kept, marked revoked, audited)."""
    why = _why(reason)
    access.check(ctx, Permission.USER_MANAGE)
    assignment = ctx.uow.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.revoked_at is not None:
        raise NotFoundError("no such active role assignment")
    assignment.revoked_at = _now(ctx)
    assignment.revoked_by_id = ctx.require_identity().user_id
    assignment.revoke_reason = why
    ctx.audit(
        EventDraft(
            "user.role_revoke",
            "user",
            str(assignment.user_id),
            {
                "role": [assignment.role, None],
                "project_id": str(assignment.project_id) if assignment.project_id else None,
            },
            reason=why,
        )
    )


def set_active(ctx: ServiceContext, user_id: uuid.UUID, *, active: bool, reason: str) -> User:
    """Disable or re-enable an account; a disabled user is refused at the next request."""
    why = _why(reason)
    user = _user(ctx, user_id)
    if user.id == ctx.require_identity().user_id and not active:
        raise UserError("you cannot disable your own account")
    if user.is_active == active:
        raise UserError(f"the account is {'enabled' if active else 'disabled'} already")
    user.is_active = active
    ctx.audit(
        EventDraft(
            "user.enable" if active else "user.disable",
            "user",
            str(user.id),
            {"is_active": [not active, active]},
            reason=why,
        )
    )
    return user


def unlock(ctx: ServiceContext, user_id: uuid.UUID, *, reason: str) -> User:
    """Lift a lockout after failed attempts."""
    why = _why(reason)
    user = _user(ctx, user_id)
    if user.locked_until is None:
        raise UserError("the account is not locked")
    old = user.locked_until.isoformat()
    user.locked_until, user.failed_logins = None, 0
    ctx.audit(
        EventDraft("user.unlock", "user", str(user.id), {"locked_until": [old, None]}, reason=why)
    )
    return user


def reset_password(ctx: ServiceContext, user_id: uuid.UUID, *, reason: str) -> str:
    """Issue a one-time password for a local account; it must be changed at first login.

    The owner is told by e-mail. Returns the one-time password, to hand over in person.
    """
    why = _why(reason)
    user = _user(ctx, user_id)
    if user.auth_source != "local":
        raise UserError("directory accounts change their password in the directory")
    if user.id == ctx.require_identity().user_id:
        raise UserError("change your own password with the change-password form")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = _now(ctx)
    user.must_change_password = True
    ctx.uow.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    ctx.audit(
        EventDraft(
            "user.password_reset",
            "user",
            str(user.id),
            {"must_change_password": [None, True]},
            reason=why,
        )
    )
    settings, email = ctx.settings, user.email
    if email:
        body = (
            f"An administrator ({ctx.require_identity().printed_name}) reset your ctvault "
            f"password. Reason: {why}. If you did not ask for this, tell your security "
            "officer."
        )
        ctx.uow.after_commit(lambda: send_mail(settings, [email], "your password was reset", body))
    return password


def retire_user(ctx: ServiceContext, user_id: uuid.UUID, *, reason: str) -> User:
    """Retire an account for good: it can never log in again and its name is never reused."""
    why = _why(reason)
    user = _user(ctx, user_id)
    if user.retired_at is not None:
        raise ConflictError("the account is retired already")
    if user.id == ctx.require_identity().user_id:
        raise UserError("you cannot retire your own account")
    user.retired_at, user.is_active = _now(ctx), False
    ctx.audit(
        EventDraft("user.retire", "user", str(user.id), {"retired": [False, True]}, reason=why)
    )
    return user


def revoke_sessions(ctx: ServiceContext, user_id: uuid.UUID, *, reason: str) -> User:
    """Record that an administrator ends every session of a user (P11-33).

    The session store lives in the web layer, which ends the sessions after this commits;
    tokens are revoked by their owner or by disabling the account.
    """
    why = _why(reason)
    user = _user(ctx, user_id)
    ctx.audit(EventDraft("user.sessions_revoke", "user", str(user.id), {}, reason=why))
    return user


def role_holders(
    ctx: ServiceContext, role: Role, at: dt.datetime
) -> list[tuple[User, uuid.UUID | None]]:
    """Who held ``role`` at the moment ``at`` (globally: project None, or in a project).

    Answers "who held role R on date D" from the kept history of grants and revocations.
    """
    access.check(ctx, Permission.USER_MANAGE)
    rows = ctx.uow.session.execute(
        select(User, RoleAssignment.project_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == role.value,
            RoleAssignment.granted_at <= at,
            (RoleAssignment.revoked_at.is_(None)) | (RoleAssignment.revoked_at > at),
        )
        .order_by(User.username)
    )
    return [(user, project_id) for user, project_id in rows]
