"""The review side of analyses: the queue, and what each signature does to an analysis.

Registered with the signing service: after an analysis revision is signed (in the same
transaction) the analysis moves on (submitted, reviewed, approved) or, on a rejection, a new
revision with the same content becomes the draft; the author is told in the app and by mail.
When a signature on the current revision is withdrawn, the analysis steps back to the state
the signatures still standing give it (approved, reviewed, submitted or draft).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, or_, select

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import NotFoundError
from lims.models import (
    Analysis,
    AnalysisRevision,
    Notification,
    Signature,
    SignatureWithdrawal,
    User,
)
from lims.notify import send_mail
from lims.services import signature_withdrawal, signing
from lims.services.analyses import current_revision
from lims.services.context import ServiceContext
from signatures import records
from signatures.content import content_digest
from signatures.registry import SignableRecord

_NEXT_STATUS = {"authored": "submitted", "reviewed": "reviewed", "approved": "approved"}
_DECISION = {
    "reviewed": "was reviewed",
    "approved": "was approved",
    "rejected": "was rejected and sent back to you",
}


def _now(ctx: ServiceContext) -> dt.datetime:
    moment: dt.datetime = ctx.uow.session.execute(select(func.now())).scalar_one()
    return moment


def review_queue(ctx: ServiceContext) -> list[Analysis]:
    """What awaits the caller: analyses to review or to approve.

    Never their own, and never one they reviewed themselves (for approval).
    """
    identity = ctx.require_identity()
    session = ctx.uow.session
    own = select(AnalysisRevision.analysis_id).where(AnalysisRevision.author_id == identity.user_id)
    query = select(Analysis).where(
        Analysis.created_by_id != identity.user_id,
        Analysis.id.not_in(own),
        or_(Analysis.status == "submitted", Analysis.status == "reviewed"),
    )
    found = []
    for analysis in session.scalars(query.order_by(Analysis.updated_at)):
        submitted = analysis.status == "submitted"
        permission = Permission.ANALYSIS_REVIEW if submitted else Permission.ANALYSIS_APPROVE
        if not identity.can(permission, analysis.project_id):
            continue
        if not submitted and _reviewed_by(ctx, analysis, identity.user_id):
            continue
        found.append(analysis)
    return found


def _reviewed_by(ctx: ServiceContext, analysis: Analysis, user_id: uuid.UUID) -> bool:
    revision = current_revision(ctx, analysis)
    signed = records.signed_by(ctx.uow.session, records.ANALYSIS, str(revision.id))
    return user_id in signed.get("reviewed", frozenset())


def _notify_author(
    ctx: ServiceContext, analysis: Analysis, revision_title: str, signature: Signature
) -> None:
    author = ctx.uow.session.get(User, analysis.created_by_id)
    if author is None:
        return
    decision = _DECISION[signature.meaning]
    subject = f"Your analysis “{revision_title}” {decision}"
    body = (
        f"{signature.printed_name} signed it as {signature.meaning} "
        f"on {signature.signed_at:%Y-%m-%d %H:%M:%S} UTC."
    )
    if signature.reason:
        body += f"\nReason: {signature.reason}"
    ctx.uow.session.add(
        Notification(
            user_id=author.id,
            subject=subject[:300],
            body=body,
            object_type="analysis",
            object_id=analysis.id,
        )
    )
    if author.email:
        settings, to = ctx.settings, [author.email]
        ctx.uow.after_commit(lambda: send_mail(settings, to, subject, body))


def _after_sign(ctx: ServiceContext, record: SignableRecord, signature: Signature) -> None:
    session = ctx.uow.session
    revision = session.get(AnalysisRevision, uuid.UUID(record.record_id))
    if revision is None:
        raise NotFoundError("no such analysis revision")
    analysis = revision.analysis
    old = analysis.status
    now = _now(ctx)
    if signature.meaning == "rejected":
        number = analysis.current_revision + 1
        session.add(
            AnalysisRevision(
                analysis_id=analysis.id,
                revision=number,
                title=revision.title,
                purpose=revision.purpose,
                results=revision.results,
                conclusions=revision.conclusions,
                dataset_versions=list(revision.dataset_versions),
                runs=list(revision.runs),
                author_id=analysis.created_by_id,
                reason=f"sent back: {signature.reason}",
                content_sha256=content_digest(
                    {**record.content, "revision": number, "author_id": str(analysis.created_by_id)}
                ),
            )
        )
        analysis.status, analysis.current_revision = "draft", number
    else:
        analysis.status = _NEXT_STATUS[signature.meaning]
    analysis.updated_at = now
    _audit_status(ctx, analysis, old, reason=signature.reason)
    if signature.meaning != "authored":
        _notify_author(ctx, analysis, revision.title, signature)


def _after_withdraw(
    ctx: ServiceContext, signature: Signature, withdrawal: SignatureWithdrawal
) -> None:
    """Step the analysis back to what the signatures still standing on its revision give."""
    session = ctx.uow.session
    revision = session.get(AnalysisRevision, uuid.UUID(signature.record_id))
    if revision is None or revision.revision != revision.analysis.current_revision:
        return  # an earlier revision: its signatures no longer set the analysis's state
    analysis = revision.analysis
    standing = records.signed_by(session, records.ANALYSIS, signature.record_id)
    status = "draft"
    for meaning in ("authored", "reviewed", "approved"):
        if not standing.get(meaning):
            break
        status = _NEXT_STATUS[meaning]
    if status == analysis.status:
        return
    old, analysis.status, analysis.updated_at = analysis.status, status, _now(ctx)
    _audit_status(
        ctx, analysis, old, reason=f"{signature.meaning} signature withdrawn: {withdrawal.reason}"
    )


def _audit_status(ctx: ServiceContext, analysis: Analysis, old: str, *, reason: str) -> None:
    ctx.uow.session.flush()
    ctx.audit(
        EventDraft(
            "analysis.status",
            "analysis",
            str(analysis.id),
            {"status": [old, analysis.status], "revision": analysis.current_revision},
            reason=reason,
        )
    )


signing.on_signed(records.ANALYSIS, _after_sign)
signature_withdrawal.on_withdrawn(records.ANALYSIS, _after_withdraw)
