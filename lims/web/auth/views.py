"""Login and logout pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import AuthenticationError
from lims.services import login as login_service
from lims.services import users
from lims.web import context
from lims.web.auth.forms import LoginForm
from lims.web.auth.guard import log_in, log_out, public, safe_next

blueprint = Blueprint("auth", __name__, template_folder="templates")


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> str | BaseResponse | tuple[str, int]:
    """Show the login form; on a valid post, authenticate (audited) and start a session."""
    if context.identity() is not None and request.method == "GET":
        return redirect(url_for("catalogue.projects"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/login.html", form=form), status
    try:
        resources = context.resources()
        result = login_service.authenticate(
            context.uow(),
            resources.settings,
            username=form.username.data or "",
            password=form.password.data or "",
            context=context.request_info(),
            directory=resources.directory,
        )
    except AuthenticationError as exc:
        return render_template("auth/login.html", form=form, error=str(exc)), 401
    identity = result.identity
    log_in(identity.user_id)
    flash(f"Logged in as {identity.printed_name}.", "info")
    return redirect(safe_next(request.args.get("next")) or url_for("catalogue.projects"))


@blueprint.post("/logout")
def logout() -> BaseResponse:
    """End the session; the logout is audited."""
    identity = context.identity()
    if identity is not None:
        users.record_logout(context.uow(), identity)
        context.commit()
    log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
