"""Withdrawing a signature (P11-22): its signer's one-way, audited invalidation.

A signature is never deleted or changed. Its signer may withdraw it, once, with a reason
and their password: a :class:`SignatureWithdrawal` row records who, when and why, and from
then on the signature no longer counts (``signed_by`` leaves it out; verification shows it
``withdrawn``, the signature panel and reports print the withdrawal). Every attempt is an
audit event like a signing attempt: ``signature.withdraw``, or ``signature.refused`` /
``signature.failure`` (wrong password, counted toward lockout). A hook registered for the
record type runs in the same transaction (an analysis steps back to the state its
remaining signatures give it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from audit import EventDraft
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import Signature, SignatureWithdrawal
from lims.services import login
from lims.services.context import ServiceContext
from lims.services.signer_checks import Attempt, reauthenticate
from lims.services.signing import ensure_record_types

ALREADY_WITHDRAWN = "this signature has already been withdrawn"
AfterWithdraw = Callable[[ServiceContext, Signature, SignatureWithdrawal], None]
_AFTER_WITHDRAW: dict[str, AfterWithdraw] = {}


def on_withdrawn(record_type: str, hook: AfterWithdraw) -> None:
    """Run ``hook`` after each withdrawal of a ``record_type`` signature, in its transaction.

    What the hook raises undoes the withdrawal.
    """
    _AFTER_WITHDRAW[record_type] = hook


def withdraw(
    ctx: ServiceContext,
    signature_id: str,
    password: str,
    *,
    reason: str,
    user_id: str | None = None,
    user_id_required: bool = False,
    directory: login.Directory | None = None,
) -> SignatureWithdrawal:
    """Withdraw one of the caller's own signatures, after asking for the password; commits.

    Raises:
        AuthenticationError: wrong password or missing user id (401).
        PermissionDeniedError: not the signer, someone else's user id, a token (403).
        ConflictError: already withdrawn, or a rejection (it already sent its record
            back) (409).
        NotFoundError: no such signature. UserError: no reason.
    """
    ensure_record_types()
    identity = ctx.require_identity()
    attempt = Attempt(ctx, "signature", signature_id, "withdrawn")
    reason = reason.strip()
    try:
        row = withdrawable(ctx, signature_id)
    except UserError as exc:
        raise attempt.refuse(exc) from None
    if not reason:
        raise attempt.refuse(UserError("a withdrawal needs a reason"))
    reauthenticate(
        attempt,
        password=password,
        user_id=user_id,
        user_id_required=user_id_required,
        directory=directory,
        recording="withdrawal",
    )
    session = ctx.uow.session
    withdrawal = SignatureWithdrawal(
        signature_id=row.id,
        withdrawn_by_id=identity.user_id,
        printed_name=identity.printed_name,
        reason=reason,
        withdrawn_at=session.execute(select(func.clock_timestamp())).scalar_one(),
    )
    try:
        with session.begin_nested():
            session.add(withdrawal)
    except IntegrityError:  # withdrawn by a concurrent request meanwhile (the key is taken)
        raise attempt.refuse(ConflictError(ALREADY_WITHDRAWN)) from None
    hook = _AFTER_WITHDRAW.get(row.record_type)
    if hook is not None:
        hook(ctx, row, withdrawal)
    ctx.audit(
        EventDraft(
            "signature.withdraw",
            row.record_type,
            row.record_id,
            {"signature_id": str(row.id), "meaning": row.meaning, "withdrawn": [False, True]},
            reason=reason,
        )
    )
    ctx.uow.commit()
    return withdrawal


def withdrawable(ctx: ServiceContext, signature_id: str) -> Signature:
    """The caller's own signature that they may withdraw now (for the withdrawal dialog).

    Raises:
        NotFoundError, PermissionDeniedError, ConflictError: as :func:`withdraw` would.
    """
    identity = ctx.require_identity()
    try:
        key = uuid.UUID(signature_id)
    except ValueError:
        raise NotFoundError("no such signature") from None
    session = ctx.uow.session
    row = session.get(Signature, key)
    if row is None:
        raise NotFoundError("no such signature")
    if row.signer_id != identity.user_id:
        raise PermissionDeniedError("only its signer can withdraw a signature")
    if session.get(SignatureWithdrawal, row.id) is not None:
        raise ConflictError(ALREADY_WITHDRAWN)
    if row.meaning == "rejected":
        raise ConflictError(
            "a rejection cannot be withdrawn: it already sent the record back as a new revision"
        )
    return row
