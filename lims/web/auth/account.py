"""One's own account: change the password, API tokens."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import AuthenticationError, UserError
from lims.services import login as login_service
from lims.services import tokens
from lims.services.tokens import IssuedToken
from lims.web import context
from lims.web.auth.forms import PasswordForm, TokenForm
from lims.web.auth.guard import (
    clear_password_change,
    end_other_sessions,
    password_change_pending,
)
from lims.web.catalogue.forms import first_error
from lims.web.errors import BAD_REQUEST, status_for

blueprint = Blueprint("account", __name__, template_folder="templates", url_prefix="/account")


def _password_page(form: PasswordForm, status: int, error: str | None = None) -> tuple[str, int]:
    page = render_template(
        "account/password.html", form=form, error=error, forced=password_change_pending()
    )
    return page, status


@blueprint.route("/password", methods=["GET", "POST"])
def password() -> BaseResponse | tuple[str, int]:
    """Change one's own (local) password; required after a reset or when it expired."""
    form = PasswordForm()
    if not form.is_submitted():
        return _password_page(form, 200)
    if not form.validate():
        return _password_page(form, BAD_REQUEST, first_error(form))
    try:
        login_service.change_password(
            context.uow(),
            context.resources().settings,
            context.require_identity(),
            current=form.current.data or "",
            new=form.new.data or "",
        )
    except AuthenticationError as exc:
        # The failed attempt was committed by the service (it counts toward lockout).
        return _password_page(form, 401, str(exc))
    except UserError as exc:
        context.rollback()
        return _password_page(form, status_for(exc), str(exc))
    context.commit()
    clear_password_change()
    end_other_sessions()
    flash("Your password was changed. Your other sessions were ended.", "success")
    return redirect(url_for("catalogue.projects"))


def _tokens_page(
    form: TokenForm, status: int, *, issued: IssuedToken | None = None, error: str | None = None
) -> tuple[str, int]:
    ctx = context.service_context()
    page = render_template(
        "account/tokens.html",
        form=form,
        tokens=tokens.list_tokens(ctx),
        issued=issued,
        error=error,
        now=context.resources().clock.now(),
    )
    return page, status


@blueprint.get("/tokens")
def token_list() -> tuple[str, int]:
    """The caller's API tokens and a form to make one."""
    return _tokens_page(TokenForm(formdata=None), 200)


@blueprint.post("/tokens")
def create_token() -> tuple[str, int]:
    """Make a token; its secret is shown on this one response and never again."""
    form = TokenForm()
    if not form.validate():
        return _tokens_page(form, BAD_REQUEST, error=first_error(form))
    try:
        issued = tokens.create_token(
            context.service_context(),
            name=form.name.data or "",
            scope=form.scope.data or "",
            days=int(form.days.data or 0),
        )
    except UserError as exc:
        context.rollback()
        return _tokens_page(form, status_for(exc), error=str(exc))
    context.commit()
    return _tokens_page(TokenForm(formdata=None), 200, issued=issued)


@blueprint.post("/tokens/<uuid:token_id>/revoke")
def revoke_token(token_id: uuid.UUID) -> BaseResponse:
    """Revoke one of the caller's tokens at once."""
    tokens.revoke_token(context.service_context(), token_id)
    flash("The token is revoked; scripts using it are refused from now on.", "success")
    return redirect(url_for("account.token_list"))


@blueprint.after_request
def _no_store(response: BaseResponse) -> BaseResponse:
    # One-time secrets and account details never land in a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response
