"""Per-request state: the unit of work (lazily on ``g``), the identity and service context.

Convention: a request that ends with a status below 400 commits its unit of work; any other
status or an exception rolls it back; teardown always closes it. Views that must commit at a
precise point (the upload commit, which must discard blobs if the commit fails) call
``commit()`` themselves. This is the only web module that may import ``lims.db``.
"""

from __future__ import annotations

from typing import cast

from flask import Flask, Response, current_app, g, request

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError
from lims.runtime.resources import Resources
from lims.services.context import ServiceContext

_UOW = "ctvault_uow"
_IDENTITY = "ctvault_identity"
SUCCESS_BELOW = 400


def resources() -> Resources:
    """The process's resources, as given to ``create_app``."""
    return cast("Resources", current_app.extensions["ctvault"])


def uow() -> UnitOfWork:
    """The request's unit of work, opened on first use."""
    unit = g.get(_UOW)
    if unit is None:
        unit = resources().unit_of_work()
        setattr(g, _UOW, unit)
    return cast("UnitOfWork", unit)


def detach_uow() -> UnitOfWork:
    """Take the request's unit of work away from the request's hooks.

    For streamed responses: the body is produced after the request has ended, so the caller
    closes the unit of work itself once the last byte is out.
    """
    unit = uow()
    g.pop(_UOW, None)
    return unit


def commit() -> None:
    """Commit the request's unit of work now."""
    unit = g.get(_UOW)
    if unit is not None:
        unit.commit()


def rollback() -> None:
    """Discard what the request's unit of work has done so far."""
    unit = g.get(_UOW)
    if unit is not None:
        unit.rollback()


def set_identity(identity: Identity | None) -> None:
    """Remember who is acting in this request (set by the login guard)."""
    setattr(g, _IDENTITY, identity)


def identity() -> Identity | None:
    """The logged-in user of this request, if any."""
    return cast("Identity | None", g.get(_IDENTITY))


def require_identity() -> Identity:
    """The logged-in user.

    Raises:
        AuthenticationError: nobody is logged in.
    """
    current = identity()
    if current is None:
        raise AuthenticationError("log in first")
    return current


def service_context() -> ServiceContext:
    """What services receive: this request's unit of work and identity."""
    return resources().service_context(uow(), identity())


def request_info() -> dict[str, str]:
    """Where a request came from, recorded with audit events."""
    return {
        "via": "web",
        "ip": request.remote_addr or "",
        "user_agent": request.user_agent.string[:300],
    }


def _finish(response: Response) -> Response:
    if response.status_code < SUCCESS_BELOW:
        commit()
    else:
        rollback()
    return response


def _close(_error: BaseException | None) -> None:
    unit = g.pop(_UOW, None)
    if unit is not None:
        unit.close()


def init_app(app: Flask) -> None:
    """Install the commit-or-rollback and close hooks."""
    app.after_request(_finish)
    app.teardown_request(_close)
