"""The login guard: every endpoint needs a logged-in, still-active user unless ``@public``.

Only the user id is kept in the (signed) session cookie. The account is reloaded on every
request, so a user disabled by an administrator is refused at their next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.services import users
from lims.web import context

USER_ID_KEY = "user_id"
_PUBLIC_ATTRIBUTE = "ctvault_public"
_ALWAYS_PUBLIC = frozenset({"static"})

F = TypeVar("F", bound=Callable[..., object])


def public(view: F) -> F:
    """Mark a view as reachable without logging in (login page, health, vendor files)."""
    setattr(view, _PUBLIC_ATTRIBUTE, True)
    return view


def is_public(endpoint: str | None) -> bool:
    """True for endpoints that anonymous users may reach."""
    if endpoint is None:
        return True  # 404 / 405: let the error handlers answer
    if endpoint in _ALWAYS_PUBLIC:
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, _PUBLIC_ATTRIBUTE, False))


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def log_in(user_id: uuid.UUID) -> None:
    """Start a fresh session for this user (a new cookie: no session fixation)."""
    session.clear()
    session[USER_ID_KEY] = str(user_id)


def log_out() -> None:
    """Forget the session."""
    session.clear()


def _load_user() -> BaseResponse | None:
    context.set_identity(None)
    raw = session.get(USER_ID_KEY)
    if raw is not None:
        try:
            user_id = uuid.UUID(str(raw))
        except ValueError:
            user_id = None
        identity = (
            None
            if user_id is None
            else users.load_identity(context.uow(), user_id, context.request_info())
        )
        if identity is None:
            session.clear()
        context.set_identity(identity)
    if context.identity() is None and not is_public(request.endpoint):
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=safe_next(target)))
    return None


def init_app(app: Flask) -> None:
    """Run the guard before every request."""
    app.before_request(_load_user)
