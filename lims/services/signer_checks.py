"""Who is signing: re-authentication, the accountability statement, audited refusals.

A signing attempt is refused by raising the error returned from :meth:`Attempt.refuse`,
which first records the refusal as an audit event in its own committed transaction, so a
refused attempt leaves nothing but that event (anything pending is rolled back).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from audit import AuditEvent, EventDraft
from lims.errors import AuthenticationError, PermissionDeniedError, UserError
from lims.models.users import normalize_username
from lims.services import login
from lims.services.context import ServiceContext
from signatures.statement import STATEMENT_SHA256, STATEMENT_VERSION

REFUSED = "signature.refused"
FAILED = "signature.failure"


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """One person's attempt to sign one record with one meaning."""

    ctx: ServiceContext
    record_type: str
    record_id: str
    meaning: str

    def refuse(self, error: UserError, action: str = REFUSED) -> UserError:
        """Audit the refusal (committed) and return ``error`` for the caller to raise."""
        self.ctx.uow.rollback()
        self.ctx.audit(
            EventDraft(
                action,
                self.record_type,
                self.record_id[:100],
                {"meaning": self.meaning},
                reason=str(error),
            )
        )
        self.ctx.uow.commit()
        return error


def reauthenticate(
    attempt: Attempt,
    *,
    password: str,
    user_id: str | None,
    user_id_required: bool,
    directory: login.Directory | None,
    recording: str = "signature",
) -> None:
    """Check the signer's own user id (when typed or required) and password, afresh.

    The password goes through the login service (a fresh LDAP bind or the local hash), so
    a wrong one is audited and counts toward lockout like a failed login. ``recording``
    names what is not recorded when the password is wrong ("signature", "withdrawal").
    """
    identity = attempt.ctx.require_identity()
    if identity.via_token:
        raise attempt.refuse(
            PermissionDeniedError("an API token cannot sign; sign in person with your password")
        )
    typed = (user_id or "").strip()
    if user_id_required and not typed:
        raise attempt.refuse(
            AuthenticationError("the first signature of a session needs your user id too")
        )
    if typed and normalize_username(typed) != normalize_username(identity.username):
        raise attempt.refuse(
            PermissionDeniedError("you can only sign as yourself: the user id is not yours")
        )
    context = {**{k: str(v) for k, v in identity.context.items()}, "purpose": "signature"}
    try:
        result = login.authenticate(
            attempt.ctx.uow,
            attempt.ctx.settings,
            username=identity.username,
            password=password,
            context=context,
            directory=directory,
        )
    except AuthenticationError as exc:
        error = AuthenticationError(f"{recording} not recorded: {exc}")
        raise attempt.refuse(error, FAILED) from exc
    if result.identity.user_id != identity.user_id:
        raise attempt.refuse(PermissionDeniedError("you can only sign as yourself"))
    if result.must_change_password:
        raise attempt.refuse(
            PermissionDeniedError(
                "set your own password before signing (a one-time password cannot sign)"
            )
        )


def has_acknowledged(ctx: ServiceContext) -> bool:
    """Whether the caller has acknowledged the current signature-accountability statement."""
    identity = ctx.require_identity()
    found = ctx.uow.session.scalar(
        select(AuditEvent.seq)
        .where(
            AuditEvent.action == "signature.acknowledge",
            AuditEvent.actor_id == identity.user_id,
            AuditEvent.object_id == STATEMENT_SHA256,
        )
        .limit(1)
    )
    return found is not None


def acknowledging(ctx: ServiceContext, *, required: bool, given: str | None) -> bool:
    """True when this signature also records the statement's acknowledgement.

    Raises:
        UserError: ``given`` is not the current statement's digest.
        PermissionDeniedError: required, never acknowledged, and not acknowledged now.
    """
    if given is not None and given != STATEMENT_SHA256:
        raise UserError("the accountability statement changed; read the current one")
    if has_acknowledged(ctx):
        return False
    if required and given is None:
        raise PermissionDeniedError(
            "before your first signature, read and acknowledge the signature-accountability "
            "statement"
        )
    return given is not None


def record_acknowledgement(ctx: ServiceContext) -> None:
    """Audit the acknowledgement of the current statement (in the signing transaction)."""
    ctx.audit(
        EventDraft(
            "signature.acknowledge",
            "signature_statement",
            STATEMENT_SHA256,
            {"version": STATEMENT_VERSION, "sha256": STATEMENT_SHA256},
        )
    )
