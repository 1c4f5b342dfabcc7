"""API tokens: shown once, stored hashed, scoped, expiring, revocable, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.errors import AuthenticationError, UserError
from lims.models import ApiToken
from lims.runtime.resources import Resources
from lims.services import admin, tokens
from tests.conftest import as_owner
from tests.factories import make_user


@pytest.mark.req("P11-33")
def test_token_lifecycle(resources: Resources, uow: UnitOfWork, scientist: Identity) -> None:
    ctx = resources.service_context(uow, scientist)
    issued = tokens.create_token(ctx, name="nightly export", scope="read", days=30)
    uow.commit()
    stored = uow.session.scalars(select(ApiToken)).one()
    assert issued.secret not in (stored.token_sha256, stored.name)
    identity, scope = tokens.authenticate_token(uow, issued.secret, {"ip": "127.0.0.1"})
    assert (identity.username, scope, identity.via_token) == ("mcurie", "read", True)
    tokens.revoke_token(ctx, stored.id)
    uow.commit()
    with pytest.raises(AuthenticationError, match="unknown, revoked or expired"):
        tokens.authenticate_token(uow, issued.secret, {})


def test_expired_token_is_refused(
    resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, scientist)
    issued = tokens.create_token(ctx, name="short", scope="write", days=1)
    with as_owner(uow.session):  # time travel: the app role may not change expiry
        uow.session.execute(update(ApiToken).values(expires_at=ApiToken.created_at))
    with pytest.raises(AuthenticationError):
        tokens.authenticate_token(uow, issued.secret, {})


@pytest.mark.req("P11-33")
def test_disabling_the_owner_ends_every_token(
    resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    issued = tokens.create_token(
        resources.service_context(uow, scientist), name="t", scope="read", days=5
    )
    boss = make_user(uow, "boss", roles={Role.ADMIN})
    admin.set_active(
        resources.service_context(uow, boss), scientist.user_id, active=False, reason="lost laptop"
    )
    with pytest.raises(AuthenticationError, match="owner cannot log in"):
        tokens.authenticate_token(uow, issued.secret, {})


@pytest.mark.req("P11-28")
def test_a_token_cannot_make_tokens(
    resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    issued = tokens.create_token(
        resources.service_context(uow, scientist), name="t", scope="write", days=5
    )
    via_token, _ = tokens.authenticate_token(uow, issued.secret, {})
    with pytest.raises(UserError, match="cannot make tokens"):
        tokens.create_token(
            resources.service_context(uow, via_token), name="x", scope="read", days=1
        )


@pytest.mark.parametrize(
    ("scope", "days", "message"),
    [
        ("admin", 5, "scope must be"),
        ("read", 0, "between 1 and"),
        ("read", 400, "between 1 and"),
    ],
)
def test_bad_token_requests_are_refused(
    resources: Resources, uow: UnitOfWork, scientist: Identity, scope: str, days: int, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        tokens.create_token(
            resources.service_context(uow, scientist), name="t", scope=scope, days=days
        )
