"""The login guard: every endpoint needs a logged-in, still-usable user unless ``@public``.

Per request, before any view and before the CSRF check:

* API endpoints (``@bearer_only``) authenticate by ``Authorization: Bearer`` alone; the
  session cookie is never used for them.
* A session that ended (idle, absolute lifetime, logout, revocation) sends the browser to
  the login page with a plain message, and a script (JSON) gets 401.
* The account is reloaded from the database on every request (``users.load_identity``): a
  user disabled, locked or retired by an administrator is refused at the next request.
* A directory user is re-checked in the directory at most every ``ldap_recheck_s`` seconds.
* After a login with a one-time or expired password, only the change-password page and
  logout are reachable until the password is changed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.auth.identity import Identity
from lims.services import login as login_service
from lims.services import users
from lims.web import context, sessions
from lims.web.auth.bearer import bearer_identity
from lims.web.errors import error_response, wants_json

logger = logging.getLogger(__name__)

USER_ID_KEY = sessions.USER_KEY
MUST_CHANGE_KEY = "must_change_password"
LDAP_CHECKED_KEY = "directory_checked_at"
_PUBLIC_ATTRIBUTE = "ctvault_public"
_BEARER_ATTRIBUTE = "ctvault_bearer_only"
_ALWAYS_PUBLIC = frozenset({"static"})
# Reachable while a password change is forced.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"account.password", "auth.logout"})
UNAUTHORIZED = 401
FORBIDDEN = 403

F = TypeVar("F", bound=Callable[..., object])


def public(view: F) -> F:
    """Mark a view as reachable without logging in (login page, health, vendor files)."""
    setattr(view, _PUBLIC_ATTRIBUTE, True)
    return view


def bearer_only(view: F) -> F:
    """Mark an API view: it authenticates by bearer token only, never by the session."""
    setattr(view, _BEARER_ATTRIBUTE, True)
    return view


def _view_flag(endpoint: str | None, attribute: str) -> bool:
    if endpoint is None:
        return False
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, attribute, False))


def is_public(endpoint: str | None) -> bool:
    """True for endpoints that anonymous users may reach."""
    if endpoint is None:
        return True  # 404 / 405: let the error handlers answer
    if endpoint in _ALWAYS_PUBLIC:
        return True
    return _view_flag(endpoint, _PUBLIC_ATTRIBUTE)


def is_bearer_only(endpoint: str | None) -> bool:
    """True for API endpoints authenticated by bearer tokens."""
    return _view_flag(endpoint, _BEARER_ATTRIBUTE)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _session() -> sessions.ServerSession:
    return cast("sessions.ServerSession", session._get_current_object())  # type: ignore[attr-defined]  # noqa: SLF001


def _now() -> float:
    return context.resources().clock.now().timestamp()


def log_in(user_id: uuid.UUID, *, must_change_password: bool) -> None:
    """Start a fresh session for this user under a new id (no session fixation)."""
    current = _session()
    current.clear()
    current.rotate(sessions.ROTATED, created=_now())
    current[USER_ID_KEY] = str(user_id)
    current[LDAP_CHECKED_KEY] = _now()
    if must_change_password:
        current[MUST_CHANGE_KEY] = True


def log_out(reason: str = sessions.LOGOUT) -> None:
    """End this session; the next response carries a new, empty one (for the message)."""
    current = _session()
    current.clear()
    current.rotate(reason, created=_now())


def end_sessions_of(user_id: uuid.UUID, reason: str = sessions.REVOKED) -> int:
    """End every session of a user at once (revocation, disabling, password reset)."""
    return sessions.current_store().end_user_sessions(str(user_id), reason)


def end_other_sessions() -> int:
    """End the caller's sessions except this one (after a password change)."""
    current = _session()
    identity = context.require_identity()
    return sessions.current_store().end_user_sessions(
        str(identity.user_id), sessions.REVOKED, keep=current.sid
    )


def clear_password_change() -> None:
    """The password was changed: the session may go everywhere again."""
    session.pop(MUST_CHANGE_KEY, None)


def password_change_pending() -> bool:
    """True while the session must change its password before anything else."""
    return bool(session.get(MUST_CHANGE_KEY))


def ended_message(reason: str) -> str | None:
    """The plain words for why a session ended (None: say nothing)."""
    settings = context.resources().settings
    return {
        sessions.IDLE: (
            f"Your session ended after {settings.session_idle_minutes} minutes without "
            "activity. Log in again."
        ),
        sessions.ABSOLUTE: (
            f"Your session ended after {settings.session_max_hours} hours, the longest a "
            "session may last. Log in again."
        ),
        sessions.LOGOUT: "This session was logged out. Log in again.",
        sessions.REVOKED: "Your session was ended (revoked or logged out everywhere). "
        "Log in again.",
        sessions.REFUSED: "Your account can no longer log in (disabled, locked or retired).",
    }.get(reason)


def _answer(message: str, status: int) -> BaseResponse:
    response, _ = error_response(message, status)
    response.status_code = status
    return response


def _refuse(message: str | None) -> BaseResponse:
    """Send a browser to the login page (with the message), or answer 401 to a script."""
    if wants_json():
        return _answer(message or "log in first", UNAUTHORIZED)
    if message:
        flash(message, "warning")
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=safe_next(target)))


def _still_in_directory(identity: Identity) -> bool:
    resources = context.resources()
    if resources.directory is None:
        return True
    now = _now()
    checked = float(session.get(LDAP_CHECKED_KEY, 0.0))
    if now - checked < resources.settings.ldap_recheck_s:
        return True
    if not login_service.still_enabled_in_directory(context.uow(), identity, resources.directory):
        return False
    session[LDAP_CHECKED_KEY] = now
    return True


def _load_user() -> BaseResponse | None:
    context.set_identity(None)
    endpoint = request.endpoint
    if is_bearer_only(endpoint):
        context.set_identity(bearer_identity())
        return None
    current = _session()
    raw = current.get(USER_ID_KEY)
    if raw is not None:
        return _check_user(str(raw), endpoint)
    message = ended_message(current.ended) if current.ended else None
    if is_public(endpoint):
        if message and request.method == "GET":
            flash(message, "warning")
        return None
    return _refuse(message)


def _check_user(raw: str, endpoint: str | None) -> BaseResponse | None:
    """Reload the session's user; refuse one that can no longer work, or must change password."""
    identity = _identity_of(raw)
    if identity is None:
        log_out(sessions.REFUSED)
        return _refuse(ended_message(sessions.REFUSED))
    if not _still_in_directory(identity):
        log_out(sessions.REVOKED)
        return _refuse("Your directory account is disabled or was removed; your session has ended.")
    context.set_identity(identity)
    if not password_change_pending() or is_public(endpoint):
        return None
    if endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    if wants_json():
        return _answer("change your password first", FORBIDDEN)
    flash("Change your password before you go on.", "warning")
    return redirect(url_for("account.password"))


def _identity_of(raw: str) -> Identity | None:
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    return users.load_identity(context.uow(), user_id, context.request_info())


def init_app(app: Flask) -> None:
    """Run the guard before every request."""
    app.before_request(_load_user)
