"""``/admin/users``: accounts, roles and project membership, lockouts, resets, sessions.

Only holders of ``user.manage`` reach these pages (checked here and again by every service).
Each form carries a reason, recorded in the audit event of the change. One-time passwords
are shown once, on the response to the form that made them, and never stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from lims.auth.passwords import generate_password
from lims.auth.roles import Permission, Role
from lims.errors import NotFoundError, PermissionDeniedError, UserError
from lims.models import Project, User
from lims.services import admin, catalogue, users
from lims.web import context, sessions
from lims.web.admin.forms import GLOBAL, CreateUserForm, GrantForm, ReasonForm
from lims.web.auth.guard import end_sessions_of
from lims.web.catalogue.forms import first_error
from lims.web.errors import BAD_REQUEST, status_for

blueprint = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")

Page = tuple[str, int]
ACTIONS = ("active", "unlock", "password", "retire", "sessions")


@blueprint.before_request
def _only_user_managers() -> None:
    identity = context.identity()
    if identity is not None and not identity.can(Permission.USER_MANAGE):
        raise PermissionDeniedError("you are not allowed to manage users")


@blueprint.after_request
def _no_store(response: BaseResponse) -> BaseResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def _projects() -> dict[uuid.UUID, Project]:
    ctx = context.service_context()
    return {p.id: p for p in catalogue.list_projects(ctx)}


def _users_page(
    form: CreateUserForm | None = None,
    *,
    status: int = 200,
    error: str | None = None,
    created: tuple[User, str] | None = None,
) -> Page:
    ctx = context.service_context()
    page = render_template(
        "admin/users.html",
        users=users.list_users(ctx),
        projects=_projects(),
        form=form or CreateUserForm(prefix="create", formdata=None),
        error=error,
        created=created,
        now=context.resources().clock.now(),
    )
    return page, status


@blueprint.get("/users")
def user_list() -> Page:
    """Every account with its roles, source, last login, lock and state."""
    return _users_page()


@blueprint.post("/users")
def create_user() -> Page:
    """Create a local account; its one-time password is shown on this response only."""
    form = CreateUserForm(prefix="create")
    if not form.validate():
        return _users_page(form, status=BAD_REQUEST, error=first_error(form))
    password = generate_password()
    try:
        user = users.create_user(
            context.service_context(),
            username=form.username.data or "",
            display_name=form.display_name.data or "",
            password=password,
            email=form.email.data or None,
            roles=frozenset(Role(r) for r in form.roles.data or []),
            reason=form.reason.data or "",
        )
    except UserError as exc:
        context.rollback()
        return _users_page(form, status=status_for(exc), error=str(exc))
    context.commit()
    return _users_page(created=(user, password))


def _find_user(user_id: uuid.UUID) -> User:
    for user in users.list_users(context.service_context()):
        if user.id == user_id:
            return user
    raise NotFoundError("no such user")


def _user_page(
    user_id: uuid.UUID,
    forms: Mapping[str, FlaskForm] | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    status: int = 200,
    one_time_password: str | None = None,
) -> Page:
    user = _find_user(user_id)
    projects = _projects()
    grant = GrantForm(prefix="grant", formdata=None)
    chosen: dict[str, FlaskForm] = {
        "grant": grant,
        "revoke": ReasonForm(prefix="revoke", formdata=None),
        **{name: ReasonForm(prefix=name, formdata=None) for name in ACTIONS},
        **(forms or {}),
    }
    _project_choices(chosen["grant"], projects)
    assignments = sorted(user.role_assignments, key=lambda a: a.granted_at, reverse=True)
    page = render_template(
        "admin/user.html",
        user=user,
        projects=projects,
        active=[a for a in assignments if a.revoked_at is None],
        revoked=[a for a in assignments if a.revoked_at is not None],
        forms=chosen,
        errors=errors or {},
        sessions_live=sessions.current_store().sessions_of(str(user.id)),
        one_time_password=one_time_password,
        now=context.resources().clock.now(),
    )
    return page, status


def _project_choices(form: FlaskForm, projects: Mapping[uuid.UUID, Project]) -> None:
    form.project.choices = [
        GLOBAL,
        *(
            SelectChoice(str(p.id), f"project {p.name}")
            for p in sorted(projects.values(), key=lambda p: p.name)
        ),
    ]


@blueprint.get("/users/<uuid:user_id>")
def user(user_id: uuid.UUID) -> Page:
    """One account: roles and membership, state, and the forms that change them."""
    return _user_page(user_id)


def _change(
    user_id: uuid.UUID,
    name: str,
    form: FlaskForm,
    act: Callable[[], str | None],
    *,
    done: str,
    end_sessions: bool = False,
) -> Page | BaseResponse:
    """Validate ``form``, run ``act`` (one service call), commit, then tidy the sessions."""
    if not form.validate():
        return _user_page(user_id, {name: form}, {name: first_error(form)}, status=BAD_REQUEST)
    try:
        shown = act()
    except UserError as exc:
        context.rollback()
        return _user_page(user_id, {name: form}, {name: str(exc)}, status=status_for(exc))
    context.commit()
    if end_sessions:
        end_sessions_of(user_id, sessions.REVOKED)
    if shown is not None:
        flash(done, "success")
        return _user_page(user_id, one_time_password=shown)
    flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _reason(form: FlaskForm) -> str:
    return str(form.reason.data or "")


@blueprint.post("/users/<uuid:user_id>/roles")
def grant_role(user_id: uuid.UUID) -> Page | BaseResponse:
    """Give a role globally, or within a project (which makes the user a member)."""
    form = GrantForm(prefix="grant")
    _project_choices(form, _projects())

    def act() -> None:
        project = form.project.data or ""
        admin.grant_role(
            context.service_context(),
            user_id,
            Role(form.role.data),
            project_id=uuid.UUID(project) if project else None,
            reason=_reason(form),
        )

    return _change(user_id, "grant", form, act, done="The role was granted.")


@blueprint.post("/users/<uuid:user_id>/roles/<uuid:assignment_id>/revoke")
def revoke_role(user_id: uuid.UUID, assignment_id: uuid.UUID) -> Page | BaseResponse:
    """End one role assignment (it stays on record as revoked)."""
    form = ReasonForm(prefix="revoke")

    def act() -> None:
        admin.revoke_role(context.service_context(), assignment_id, reason=_reason(form))

    return _change(user_id, "revoke", form, act, done="The role was revoked.")


@blueprint.post("/users/<uuid:user_id>/active/<any(enable, disable):state>")
def set_active(user_id: uuid.UUID, state: str) -> Page | BaseResponse:
    """Disable (every session ends at once) or re-enable an account."""
    form = ReasonForm(prefix="active")
    enable = state == "enable"

    def act() -> None:
        admin.set_active(context.service_context(), user_id, active=enable, reason=_reason(form))

    done = "The account is enabled." if enable else "The account is disabled; its sessions ended."
    return _change(user_id, "active", form, act, done=done, end_sessions=not enable)


@blueprint.post("/users/<uuid:user_id>/unlock")
def unlock(user_id: uuid.UUID) -> Page | BaseResponse:
    """Lift a lockout after failed attempts."""
    form = ReasonForm(prefix="unlock")

    def act() -> None:
        admin.unlock(context.service_context(), user_id, reason=_reason(form))

    return _change(user_id, "unlock", form, act, done="The account is unlocked.")


@blueprint.post("/users/<uuid:user_id>/password")
def reset_password(user_id: uuid.UUID) -> Page | BaseResponse:
    """Issue a one-time password (local accounts); shown once, the owner is mailed."""
    form = ReasonForm(prefix="password")

    def act() -> str:
        return admin.reset_password(context.service_context(), user_id, reason=_reason(form))

    return _change(
        user_id,
        "password",
        form,
        act,
        done="A one-time password was issued and the owner was told by e-mail; their "
        "sessions ended.",
        end_sessions=True,
    )


@blueprint.post("/users/<uuid:user_id>/retire")
def retire(user_id: uuid.UUID) -> Page | BaseResponse:
    """Retire an account for good (it never logs in again; its name is never reused)."""
    form = ReasonForm(prefix="retire")

    def act() -> None:
        admin.retire_user(context.service_context(), user_id, reason=_reason(form))

    return _change(user_id, "retire", form, act, done="The account is retired.", end_sessions=True)


@blueprint.post("/users/<uuid:user_id>/sessions/revoke")
def revoke_sessions(user_id: uuid.UUID) -> Page | BaseResponse:
    """End every session of the user at once (audited)."""
    form = ReasonForm(prefix="sessions")

    def act() -> None:
        admin.revoke_sessions(context.service_context(), user_id, reason=_reason(form))

    return _change(
        user_id, "sessions", form, act, done="Every session of the user ended.", end_sessions=True
    )
