"""Step validation changes: the administrator signs the audit event of the change."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from audit import AuditEvent
from audit.chain import format_time
from lims.auth.identity import Identity
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import ProcessingStep
from signatures.lookup import signed_by
from signatures.registry import RecordType, SignableRecord

STEP_VALIDATION = "step_validation"


def _load_step_change(session: Session, record_id: str) -> SignableRecord | None:
    seq = int(record_id) if record_id.isdigit() else None
    event = session.get(AuditEvent, seq) if seq else None
    if event is None or event.action != "step.state_change":
        return None
    step = session.get(ProcessingStep, uuid.UUID(event.object_id))
    return SignableRecord(
        record_type=STEP_VALIDATION,
        record_id=record_id,
        title=f"validation state change of step {step.name} v{step.version}"
        if step
        else "validation state change",
        content={
            "audit_seq": event.seq,
            "audit_hash": event.hash,
            "step_id": event.object_id,
            "changes": event.changes,
            "reason": event.reason,
            "actor_id": str(event.actor_id),
            "occurred_at": format_time(event.occurred_at),
        },
        state="recorded",
        authors=frozenset({event.actor_id} if event.actor_id else set()),
        signed_by=signed_by(session, STEP_VALIDATION, record_id),
    )


def check_step_change(record: SignableRecord, identity: Identity, _meaning: str) -> None:
    """Only the administrator who made a validation state change signs it, once."""
    if not identity.is_admin or identity.user_id not in record.authors:
        raise PermissionDeniedError(
            "only the administrator who changed a step's validation state signs that change"
        )
    if record.signed_by:
        raise ConflictError("this validation state change is already signed")


STEP_TYPE = RecordType(
    STEP_VALIDATION,
    "step validation",
    frozenset({"approved"}),
    _load_step_change,
    check_step_change,
)
