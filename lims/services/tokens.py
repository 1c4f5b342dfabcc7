"""API tokens for scripts: made by a user for themself, shown once, stored as SHA-256.

A token acts as its owner with at most its scope: ``read`` tokens may only read. Tokens never
sign (Part 11 §11.200(a)(2): a signature needs the person, not a credential on a disk).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import func, select

from audit import Actor, EventDraft, record
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError, NotFoundError, UserError
from lims.models import ApiToken, User
from lims.services.context import ServiceContext
from lims.services.users import identity_of

TOKEN_PREFIX = "ctv_"  # noqa: S105 - a marker, not a secret
MAX_DAYS = 366
SCOPES = ("read", "write")


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(ctx: ServiceContext, *, name: str, scope: str, days: int) -> IssuedToken:
    """Make a token for the caller (never for someone else).

    Raises:
        UserError: no name, unknown scope, or a lifetime outside 1..366 days.
    """
    identity = ctx.require_identity()
    if identity.via_token:
        raise UserError("a token cannot make tokens; log in with your password")
    label = " ".join(name.split())
    if not label:
        raise UserError("give the token a name that says what uses it")
    if scope not in SCOPES:
        raise UserError(f"scope must be one of {', '.join(SCOPES)}")
    if not 1 <= days <= MAX_DAYS:
        raise UserError(f"a token lives between 1 and {MAX_DAYS} days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = ctx.uow.session
    now: dt.datetime = session.execute(select(func.now())).scalar_one()
    token = ApiToken(
        user_id=identity.user_id,
        name=label[:200],
        token_sha256=_digest(secret),
        scope=scope,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(token)
    session.flush()
    ctx.audit(
        EventDraft(
            "token.create",
            "user",
            str(identity.user_id),
            {
                "token_id": [None, str(token.id)],
                "name": [None, token.name],
                "scope": [None, scope],
                "expires_at": [None, token.expires_at.isoformat()],
            },
        )
    )
    return IssuedToken(token, secret)


def list_tokens(ctx: ServiceContext) -> list[ApiToken]:
    """The caller's own tokens, newest first."""
    identity = ctx.require_identity()
    return list(
        ctx.uow.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == identity.user_id)
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(ctx: ServiceContext, token_id: uuid.UUID) -> None:
    """Revoke one of the caller's tokens at once."""
    identity = ctx.require_identity()
    token = ctx.uow.session.get(ApiToken, token_id)
    if token is None or token.user_id != identity.user_id:
        raise NotFoundError("no such token")
    if token.revoked_at is not None:
        raise UserError("the token is revoked already")
    token.revoked_at = ctx.uow.session.execute(select(func.now())).scalar_one()
    ctx.audit(
        EventDraft(
            "token.revoke",
            "user",
            str(identity.user_id),
            {"token_id": str(token.id), "revoked": [False, True]},
        )
    )


def authenticate_token(
    uow: UnitOfWork, secret: str, context: dict[str, str]
) -> tuple[Identity, str]:
    """The identity a bearer token acts as, and its scope; the use is audited.

    Raises:
        AuthenticationError: unknown, revoked or expired token, or a disabled owner.
    """
    session = uow.session
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(secret.strip()))
    ).first()
    now: dt.datetime = session.execute(select(func.now())).scalar_one()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise AuthenticationError("the API token is unknown, revoked or expired")
    owner = session.get(User, token.user_id)
    if (
        owner is None
        or not owner.is_active
        or owner.retired_at is not None
        or (owner.locked_until is not None and owner.locked_until > now)
    ):
        raise AuthenticationError("the token's owner cannot log in")
    token.last_used_at = now
    identity = identity_of(session, owner, {**context, "token_id": str(token.id)}, via_token=True)
    record(
        session,
        Actor(owner.id, identity.printed_name, identity.context),
        EventDraft("token.use", "user", str(owner.id), {"token_id": str(token.id)}),
    )
    return identity, token.scope
