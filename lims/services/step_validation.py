"""A processing step's validation state changes only with the administrator's signature."""

from __future__ import annotations

from sqlalchemy import select

from audit import AuditEvent
from lims.errors import PermissionDeniedError, UserError
from lims.models import Signature
from lims.services import login, workflows
from lims.services.context import ServiceContext
from lims.services.signer_checks import Attempt, acknowledging, reauthenticate
from lims.services.signing import ensure_record_types, seal_checked
from signatures import records, registry

MEANING = "approved"


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
    acknowledge_statement: str | None = None,
) -> Signature:
    """Change a step version's validation state with the administrator's signature.

    The state change, its audit event and the signature (meaning ``approved``, bound to
    that audit event) commit together; a wrong password or a refused change records only
    the audit event of the refusal. An administrator who has not yet acknowledged the
    signature-accountability statement passes its SHA-256 as ``acknowledge_statement``
    (recorded with this signature), or is refused.
    """
    ensure_record_types()
    identity = ctx.require_identity()
    attempt = Attempt(ctx, records.STEP_VALIDATION, f"{name} v{version}", MEANING)
    if not identity.is_admin:
        raise attempt.refuse(
            PermissionDeniedError("only an administrator may change a step's validation state")
        )
    try:
        acknowledge = acknowledging(ctx, required=True, given=acknowledge_statement)
    except UserError as exc:
        raise attempt.refuse(exc) from None
    reauthenticate(
        attempt,
        password=password,
        user_id=user_id,
        user_id_required=user_id_required,
        directory=directory,
    )
    try:
        step = workflows.set_step_state(ctx, name, version, state=state, reason=reason)
    except UserError as exc:
        raise attempt.refuse(exc) from None
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
    kind = registry.get(records.STEP_VALIDATION)
    return seal_checked(
        ctx, kind, record, meaning=MEANING, reason=reason.strip(), acknowledge=acknowledge
    )
