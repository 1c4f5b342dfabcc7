"""Signature housekeeping: verify every signature, rotate and export the signing keys."""

from __future__ import annotations

from audit import EventDraft
from lims.auth.identity import require_admin
from lims.db.uow import UnitOfWork
from lims.errors import UserError
from lims.models import SigningKey
from lims.services.context import ServiceContext
from lims.services.signing import ensure_record_types, kek
from signatures import keys
from signatures.verify import Verdict, verify_all


def verify_every_signature(uow: UnitOfWork) -> list[Verdict]:
    """Every signature checked against its seal, its row and its record's content now."""
    ensure_record_types()
    return list(verify_all(uow.session))


def rotate_signing_key(ctx: ServiceContext, *, reason: str) -> SigningKey:
    """Add a new signing key (administrators; audited; committed)."""
    identity = ctx.require_identity()
    require_admin(identity, "rotate the signing key")
    if not reason.strip():
        raise UserError("a key rotation needs a reason")
    row = keys.rotate(
        ctx.uow.session, kek(ctx.settings), created_by=identity.printed_name, reason=reason.strip()
    )
    ctx.audit(
        EventDraft("signing_key.create", "signing_key", row.key_id, {"key_id": row.key_id}, reason)
    )
    ctx.uow.commit()
    return row


def export_public_keys(uow: UnitOfWork) -> str:
    """Every public signing key as JSON (for offline verification)."""
    return keys.export_public_keys(uow.session)
