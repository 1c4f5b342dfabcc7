"""Login and logout: rate-limited, audited, with a new session id at every login."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.auth.ldap import DirectoryUnavailableError
from lims.errors import AuthenticationError
from lims.services import login as login_service
from lims.services import users
from lims.web import context, sessions
from lims.web.auth import ratelimit
from lims.web.auth.forms import LoginForm
from lims.web.auth.guard import end_sessions_of, log_in, log_out, public, safe_next

blueprint = Blueprint("auth", __name__, template_folder="templates")

TOO_MANY = 429
UNAVAILABLE = 503


def _login_page(form: LoginForm, status: int, error: str | None = None) -> tuple[str, int]:
    return render_template("auth/login.html", form=form, error=error), status


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> BaseResponse | tuple[str, int]:
    """Show the login form; on a valid post, authenticate (audited) and start a session."""
    if context.identity() is not None and request.method == "GET":
        return redirect(url_for("catalogue.projects"))
    form = LoginForm()
    resources = context.resources()
    if request.method == "POST" and not ratelimit.allow_attempt(
        resources.redis, request.remote_addr or "", resources.settings.login_attempts_per_minute
    ):
        message = "Too many login attempts from your address. Wait a minute, then try again."
        return _login_page(LoginForm(formdata=None), TOO_MANY, message)
    if not form.validate_on_submit():
        return _login_page(form, 400 if form.is_submitted() else 200)
    return _authenticate(form)


def _authenticate(form: LoginForm) -> BaseResponse | tuple[str, int]:
    resources = context.resources()
    try:
        result = login_service.authenticate(
            context.uow(),
            resources.settings,
            username=form.username.data or "",
            password=form.password.data or "",
            context=context.request_info(),
            directory=resources.directory,
        )
    except DirectoryUnavailableError as exc:
        message = f"The lab directory cannot be reached, so nobody can log in now ({exc})."
        return _login_page(form, UNAVAILABLE, message)
    except AuthenticationError as exc:
        return _login_page(form, 401, str(exc))
    identity = result.identity
    log_in(identity.user_id, must_change_password=result.must_change_password)
    if result.must_change_password:
        flash("Your password must be changed before you go on.", "warning")
        return redirect(url_for("account.password"))
    flash(f"Logged in as {identity.printed_name}.", "info")
    return redirect(safe_next(request.args.get("next")) or url_for("catalogue.projects"))


@blueprint.post("/logout")
def logout() -> BaseResponse:
    """End the session; the logout is audited."""
    identity = context.identity()
    if identity is not None:
        users.record_logout(context.uow(), identity)
        context.commit()
    log_out(sessions.LOGOUT)
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.post("/logout/everywhere")
def logout_everywhere() -> BaseResponse:
    """End every session of the caller, on every device (audited as a logout)."""
    identity = context.require_identity()
    users.record_logout(context.uow(), identity)
    context.commit()
    ended = end_sessions_of(identity.user_id, sessions.REVOKED)
    log_out(sessions.LOGOUT)
    flash(f"You are logged out everywhere ({ended} session(s) ended).", "info")
    return redirect(url_for("auth.login"))
