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

from sqlalchemy import select

from audit import AuditEvent, EventDraft
from lims.errors import AuthenticationError, ConflictError, PermissionDeniedError, UserError
from lims.models import Signature
from lims.models.signatures import MEANINGS
from lims.models.users import normalize_username
from lims.services import login, workflows
from lims.services.access import check_visible
from lims.services.context import ServiceContext
from lims.settings import Settings
from signatures import records, registry
from signatures.keys import load_or_create_kek
from signatures.registry import SignableRecord
from signatures.sealing import seal
from signatures.statement import STATEMENT_SHA256, STATEMENT_VERSION
from signatures.verify import Verdict, signatures_of, verify_signatures

AfterSign = Callable[[ServiceContext, SignableRecord, Signature], None]

# Modules that register record types or after-sign hooks when imported; each is imported
# before the first signature or verification. Add yours here (one line).
REGISTERING_MODULES = ("lims.services.analyses", "reports.signable")

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


def preview(ctx: ServiceContext, record_type: str, record_id: str) -> SignableRecord:
    """The record as the sign dialog shows it (what is signed, its digest)."""
    ctx.require_identity()
    ensure_record_types()
    return registry.load(ctx.uow.session, record_type, record_id)


def _refuse(  # noqa: PLR0917 - always called with the same five facts in order
    ctx: ServiceContext,
    record_type: str,
    record_id: str,
    meaning: str,
    error: UserError,
    action: str = "signature.refused",
) -> UserError:
    ctx.uow.rollback()
    ctx.audit(
        EventDraft(action, record_type, record_id[:100], {"meaning": meaning}, reason=str(error))
    )
    ctx.uow.commit()
    return error


def refuse_request(
    ctx: ServiceContext, record_type: str, record_id: str, meaning: str, error: UserError
) -> None:
    """Refuse a sign request that fails the web's own checks (replayed, forged, no password).

    Audited like every refused attempt. Raises ``error``.
    """
    raise _refuse(ctx, record_type, record_id, meaning, error)


def _reauthenticate(
    ctx: ServiceContext,
    *,
    record_type: str,
    record_id: str,
    meaning: str,
    password: str,
    user_id: str | None,
    user_id_required: bool,
    directory: login.Directory | None,
) -> None:
    identity = ctx.require_identity()
    if identity.via_token:
        raise _refuse(
            ctx,
            record_type,
            record_id,
            meaning,
            PermissionDeniedError("an API token cannot sign; sign in person with your password"),
        )
    typed = (user_id or "").strip()
    if user_id_required and not typed:
        raise _refuse(
            ctx,
            record_type,
            record_id,
            meaning,
            AuthenticationError("the first signature of a session needs your user id too"),
        )
    if typed and normalize_username(typed) != normalize_username(identity.username):
        raise _refuse(
            ctx,
            record_type,
            record_id,
            meaning,
            PermissionDeniedError("you can only sign as yourself: the user id is not yours"),
        )
    context = {**{k: str(v) for k, v in identity.context.items()}, "purpose": "signature"}
    try:
        result = login.authenticate(
            ctx.uow,
            ctx.settings,
            username=identity.username,
            password=password,
            context=context,
            directory=directory,
        )
    except AuthenticationError as exc:
        error = AuthenticationError(f"signature not recorded: {exc}")
        raise _refuse(ctx, record_type, record_id, meaning, error, "signature.failure") from exc
    if result.identity.user_id != identity.user_id:
        raise _refuse(
            ctx,
            record_type,
            record_id,
            meaning,
            PermissionDeniedError("you can only sign as yourself"),
        )
    if result.must_change_password:
        raise _refuse(
            ctx,
            record_type,
            record_id,
            meaning,
            PermissionDeniedError(
                "set your own password before signing (a one-time password cannot sign)"
            ),
        )


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
    try:
        kind, record = _precheck(ctx, record_type, record_id, meaning, reason, expected_digest)
        acknowledging = _acknowledgement(
            ctx, required=require_acknowledgement, given=acknowledge_statement
        )
    except UserError as exc:
        raise _refuse(ctx, record_type, record_id, meaning, exc) from None
    _reauthenticate(
        ctx,
        record_type=record_type,
        record_id=record_id,
        meaning=meaning,
        password=password,
        user_id=user_id,
        user_id_required=user_id_required,
        directory=directory,
    )
    return _seal_locked(
        ctx, kind, record, meaning=meaning, reason=reason, acknowledging=acknowledging
    )


def _acknowledgement(ctx: ServiceContext, *, required: bool, given: str | None) -> bool:
    """True when this signature also records the statement's acknowledgement."""
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


def _seal_locked(
    ctx: ServiceContext,
    kind: registry.RecordType,
    seen: SignableRecord,
    *,
    meaning: str,
    reason: str,
    acknowledging: bool = False,
) -> Signature:
    identity = ctx.require_identity()
    session = ctx.uow.session
    try:
        kind.lock(session, seen.record_id)
        record = registry.load(session, seen.record_type, seen.record_id)
        kind.check(record, identity, meaning)
        if record.digest != seen.digest:
            raise ConflictError("the record changed while you were signing; review it again")
    except UserError as exc:
        raise _refuse(ctx, seen.record_type, seen.record_id, meaning, exc) from None
    if acknowledging:
        ctx.audit(
            EventDraft(
                "signature.acknowledge",
                "signature_statement",
                STATEMENT_SHA256,
                {"version": STATEMENT_VERSION, "sha256": STATEMENT_SHA256},
            )
        )
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


def change_step_state(
    ctx: ServiceContext,
    name: str,
    version: int,
    *,
    state: str,
    reason: str,
    password: str,
    user_id: str | None = None,
    user_id_required: bool = False,
    directory: login.Directory | None = None,
) -> Signature:
    """Change a step version's validation state with the administrator's signature.

    The state change, its audit event and the signature (meaning ``approved``, bound to
    that audit event) commit together; a wrong password changes nothing.
    """
    ensure_record_types()
    identity = ctx.require_identity()
    record_id = f"{name} v{version}"
    if not identity.is_admin:
        raise _refuse(
            ctx,
            records.STEP_VALIDATION,
            record_id,
            "approved",
            PermissionDeniedError("only an administrator may change a step's validation state"),
        )
    _reauthenticate(
        ctx,
        record_type=records.STEP_VALIDATION,
        record_id=record_id,
        meaning="approved",
        password=password,
        user_id=user_id,
        user_id_required=user_id_required,
        directory=directory,
    )
    try:
        step = workflows.set_step_state(ctx, name, version, state=state, reason=reason)
    except UserError as exc:
        raise _refuse(ctx, records.STEP_VALIDATION, record_id, "approved", exc) from None
    seq = ctx.uow.session.scalar(
        select(AuditEvent.seq)
        .where(
            AuditEvent.object_type == "processing_step",
            AuditEvent.object_id == str(step.id),
            AuditEvent.action == "step.state_change",
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    record = registry.load(ctx.uow.session, records.STEP_VALIDATION, str(seq))
    return _seal_locked(
        ctx, registry.get(records.STEP_VALIDATION), record, meaning="approved", reason=reason
    )


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
    if record is None:
        return []
    allowed = []
    for meaning in sorted(kind.meanings):
        try:
            kind.check(record, identity, meaning)
        except UserError:
            continue
        allowed.append(meaning)
    return allowed
