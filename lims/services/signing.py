"""Signing a record: re-authenticate, check role and state, seal, audit, commit.

``sign`` is the one entry point for every signable record type (analyses, dataset
versions, step validations, and any type another module registers with
``signatures.registry.register``). Every attempt is an audit event: ``signature.sign``,
``signature.failure`` (wrong password; it also counts toward lockout through the login
service) or ``signature.refused`` (role, separation of duties, state, someone else's id, a
stale digest). A refused attempt records nothing but its audit event.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from pathlib import Path

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import ConflictError, UserError
from lims.models import Signature
from lims.models.signatures import MEANINGS
from lims.services import login
from lims.services.access import check_visible
from lims.services.context import ServiceContext
from lims.services.signer_checks import (
    Attempt,
    acknowledging,
    reauthenticate,
    record_acknowledgement,
)
from lims.settings import Settings
from signatures import records, registry
from signatures.keys import load_or_create_kek
from signatures.registry import SignableRecord
from signatures.sealing import seal
from signatures.verify import Verdict, signatures_of, verify_signatures

AfterSign = Callable[[ServiceContext, SignableRecord, Signature], None]

# Modules that register record types or after-sign hooks when imported; each is imported
# before the first signature or verification. Add yours here (one line).
REGISTERING_MODULES = ("lims.services.analysis_review", "reports.signable")

_AFTER_SIGN: dict[str, AfterSign] = {}


def on_signed(record_type: str, hook: AfterSign) -> None:
    """Run ``hook`` in the signing transaction after each signature of ``record_type``.

    Hooks make state transitions and notifications; what a hook raises undoes the signature.
    """
    _AFTER_SIGN[record_type] = hook


def ensure_record_types() -> None:
    """Register the built-in record types and import the modules that register more."""
    records.register_builtin()
    for name in REGISTERING_MODULES:
        importlib.import_module(name)


def kek_path(settings: Settings) -> Path:
    """Where the key-encryption key of the signing keys lives."""
    return settings.data_dir / "keys" / "signing-kek"


def kek(settings: Settings) -> bytes:
    """The key-encryption key (created on first use)."""
    return load_or_create_kek(kek_path(settings))


def preview(ctx: ServiceContext, record_type: str, record_id: str) -> SignableRecord:
    """The record as the sign dialog shows it (what is signed, its digest).

    Raises:
        NotFoundError: no such record, or one in a project the caller cannot see.
    """
    ctx.require_identity()
    ensure_record_types()
    record = registry.load(ctx.uow.session, record_type, record_id)
    if record.project_id is not None:
        check_visible(ctx, record.project_id, registry.get(record_type).label)
    return record


def refuse_request(
    ctx: ServiceContext, record_type: str, record_id: str, meaning: str, error: UserError
) -> None:
    """Refuse a sign request that fails the web's own checks (replayed, forged, no password).

    Audited like every refused attempt. Raises ``error``.
    """
    raise Attempt(ctx, record_type, record_id, meaning).refuse(error)


def sign(  # noqa: PLR0917 - the documented call shape: sign(ctx, type, id, meaning, password)
    ctx: ServiceContext,
    record_type: str,
    record_id: str,
    meaning: str,
    password: str,
    user_id: str | None = None,
    *,
    reason: str = "",
    expected_digest: str | None = None,
    user_id_required: bool = False,
    directory: login.Directory | None = None,
    require_acknowledgement: bool = False,
    acknowledge_statement: str | None = None,
) -> Signature:
    """Sign a record as the context's user, after asking for the password again; commits.

    Args:
        ctx: the signer's context (an API-token identity is refused).
        record_type: a registered record type ("analysis", "dataset_version", ...).
        record_id: the record's id as that type names it (an analysis *revision* id).
        meaning: one of authored, reviewed, approved, rejected, verified.
        password: the signer's password, checked by the login service (LDAP or local);
            a wrong one counts toward lockout.
        user_id: the user id the signer typed; must be their own when given.
        reason: why (mandatory for ``rejected``).
        expected_digest: the content digest the signer saw; a different current digest
            is a conflict (the record changed meanwhile).
        user_id_required: the caller's session has no signing epoch yet (first signature
            of a session, or outside a continuous session): the user id must be given.
        directory: the LDAP directory, when logins use one.
        require_acknowledgement: refuse a signer who has not yet acknowledged the
            signature-accountability statement (``signatures.statement``); the web and the
            API pass True.
        acknowledge_statement: the SHA-256 of the statement the signer acknowledges now;
            recorded (audited) with this signature.

    Raises:
        AuthenticationError: wrong password or missing user id (401).
        PermissionDeniedError: wrong role, own record, someone else's id, a token (403).
        ConflictError: the record's state does not allow this meaning, or it changed (409).
        NotFoundError: no such record. UserError: bad meaning or missing reason.
    """
    ensure_record_types()
    ctx.require_identity()
    reason = reason.strip()
    attempt = Attempt(ctx, record_type, record_id, meaning)
    try:
        kind, record = _precheck(ctx, record_type, record_id, meaning, reason, expected_digest)
        acknowledge = acknowledging(
            ctx, required=require_acknowledgement, given=acknowledge_statement
        )
    except UserError as exc:
        raise attempt.refuse(exc) from None
    reauthenticate(
        attempt,
        password=password,
        user_id=user_id,
        user_id_required=user_id_required,
        directory=directory,
    )
    return seal_checked(ctx, kind, record, meaning=meaning, reason=reason, acknowledge=acknowledge)


def _precheck(  # noqa: PLR0917 - the arguments of sign, passed on
    ctx: ServiceContext,
    record_type: str,
    record_id: str,
    meaning: str,
    reason: str,
    expected_digest: str | None,
) -> tuple[registry.RecordType, SignableRecord]:
    kind = registry.get(record_type)
    if meaning not in MEANINGS or meaning not in kind.meanings:
        allowed = ", ".join(sorted(kind.meanings))
        raise UserError(f"a {kind.label} can be signed as: {allowed}; not {meaning!r}")
    if meaning == "rejected" and not reason:
        raise UserError("a rejection needs a reason")
    record = registry.load(ctx.uow.session, record_type, record_id)
    if record.project_id is not None:
        check_visible(ctx, record.project_id, kind.label)
    if expected_digest is not None and expected_digest != record.digest:
        raise ConflictError(
            "the record changed after you opened it; review the current content and sign again"
        )
    kind.check(record, ctx.require_identity(), meaning)
    return kind, record


def seal_checked(
    ctx: ServiceContext,
    kind: registry.RecordType,
    seen: SignableRecord,
    *,
    meaning: str,
    reason: str,
    acknowledge: bool = False,
) -> Signature:
    """Lock the record, check it again, seal it, run the hook, audit and commit.

    For a signer already re-authenticated; ``seen`` is the record as they saw it.
    """
    identity = ctx.require_identity()
    session = ctx.uow.session
    try:
        kind.lock(session, seen.record_id)
        record = registry.load(session, seen.record_type, seen.record_id)
        kind.check(record, identity, meaning)
        if record.digest != seen.digest:
            raise ConflictError("the record changed while you were signing; review it again")
    except UserError as exc:
        raise Attempt(ctx, seen.record_type, seen.record_id, meaning).refuse(exc) from None
    if acknowledge:
        record_acknowledgement(ctx)
    row = seal(session, kek(ctx.settings), record, identity, meaning=meaning, reason=reason)
    hook = _AFTER_SIGN.get(record.record_type)
    if hook is not None:
        hook(ctx, record, row)
    ctx.audit(
        EventDraft(
            "signature.sign",
            record.record_type,
            record.record_id,
            {
                "signature_id": str(row.id),
                "meaning": meaning,
                "content_sha256": row.content_sha256,
                "key_id": row.key_id,
            },
            reason=reason,
        )
    )
    ctx.uow.commit()
    return row


def record_signatures(ctx: ServiceContext, record_type: str, record_id: str) -> list[Verdict]:
    """A record's signatures, each verified now (for the signature panel)."""
    ctx.require_identity()
    ensure_record_types()
    session = ctx.uow.session
    return list(verify_signatures(session, signatures_of(session, record_type, record_id)))


def signature_of(ctx: ServiceContext, signature_id: uuid.UUID) -> Signature | None:
    """One signature by id."""
    ctx.require_identity()
    return ctx.uow.session.get(Signature, signature_id)


def allowed_meanings(ctx: ServiceContext, record_type: str, record_id: str) -> list[str]:
    """The meanings the caller may sign the record with now (to show only possible actions).

    The server checks again when the signature is posted.
    """
    identity = ctx.require_identity()
    if identity.via_token:
        return []
    ensure_record_types()
    kind = registry.get(record_type)
    record = kind.load(ctx.uow.session, record_id)
    if record is None or (
        record.project_id is not None
        and not identity.can(Permission.CATALOGUE_READ, record.project_id)
    ):
        return []
    allowed = []
    for meaning in sorted(kind.meanings):
        try:
            kind.check(record, identity, meaning)
        except UserError:
            continue
        allowed.append(meaning)
    return allowed
