"""Generate one requested report in a worker: load, render, seal, store, file, notify.

Everything happens in one transaction: the blob row, the immutable :class:`Report` row, the
request's ``done`` state, the audit event and the requester's notification; the e-mail goes
out after the commit. A failure (an expired certificate, a record gone) leaves no report:
the request is marked ``failed`` with the reason, audited, and the requester is told.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from pyhanko.sign.signers import SimpleSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, EventDraft, record
from audit.chain import format_time
from audit.query import AuditFilter
from lims.errors import UserError
from lims.models import Blob, Notification, Report, ReportRequest, User
from lims.notify import send_mail
from lims.settings import Settings
from processing.context import JobResources
from reports.analysis_loading import load_analysis
from reports.certificate import ensure_certificate
from reports.content import Report as ReportContent
from reports.loading import Stamp, load_audit_trail, load_dataset
from reports.logo import check_logo
from reports.render import render
from reports.seal import load_signer, page_count, seal_pdf


def _actor(requester: User, hostname: str) -> Actor:
    return Actor(
        requester.id,
        f"{requester.display_name} via worker@{hostname}",
        {"via": "worker", "service": f"worker@{hostname}", "on_behalf_of": str(requester.id)},
    )


def _logo(settings: Settings) -> bytes | None:
    return check_logo(settings.report_logo) if settings.report_logo is not None else None


def _criteria(parameters: dict[str, Any]) -> AuditFilter:
    def when(key: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(parameters[key]) if parameters.get(key) else None

    return AuditFilter(
        actor=parameters.get("actor", ""),
        action=parameters.get("action", ""),
        object_type=parameters.get("object_type", ""),
        object_id=parameters.get("object_id", ""),
        since=when("since"),
        until=when("until"),
    )


def load_content(
    res: JobResources, session: Session, request: ReportRequest, now: dt.datetime
) -> ReportContent:
    """The report's values, read from the database."""
    stamp = Stamp(
        report_id=str(request.id),
        lab_name=res.settings.lab_name,
        generated_at=format_time(now),
        generated_by=request.requested_by.display_name,
        logo_png=_logo(res.settings),
    )
    if request.kind == "dataset":
        return load_dataset(session, res.blobstore, stamp, uuid.UUID(request.object_id))
    if request.kind == "audit_trail":
        return load_audit_trail(session, res.settings, stamp, _criteria(request.parameters))
    return load_analysis(session, res.blobstore, stamp, uuid.UUID(request.object_id))


def _subject(signer: SimpleSigner) -> str:
    certificate = signer.signing_cert
    return str(certificate.subject.human_friendly) if certificate is not None else ""


def _file(
    res: JobResources, session: Session, request: ReportRequest, content: ReportContent
) -> Report:
    now = res.clock.now()
    files = ensure_certificate(res.settings, now)
    signer = load_signer(files, now)
    sealed = seal_pdf(
        render(content),
        signer,
        reason=f"ctvault report {request.id}: issued by {res.settings.lab_name}",
        location=res.settings.lab_name,
    )
    stored = res.blobstore.put_stream(
        io.BytesIO(sealed), expected_size=len(sealed), source_name=f"report {request.id}"
    )
    if session.get(Blob, stored.sha256) is None:
        session.add(Blob(sha256=stored.sha256, size_bytes=stored.size_bytes))
    meta = content.meta
    report = Report(
        id=request.id,
        kind=request.kind,
        title=f"{meta.title} {meta.record_label}"[:300],
        object_type=request.object_type,
        object_id=request.object_id,
        record_version=meta.record_version,
        project_id=request.project_id,
        parameters=request.parameters,
        requested_by_id=request.requested_by_id,
        blob_sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        page_count=page_count(sealed),
        seal_subject=_subject(signer),
    )
    session.add(report)
    return report


def _failure_target(request: ReportRequest) -> tuple[str, uuid.UUID]:
    """What a failure notice points to: the record (whose page lists the failed request)."""
    try:
        return request.object_type, uuid.UUID(request.object_id)
    except ValueError:  # the audit trail has no record id
        return "report_request", request.id


def _notify(
    res: JobResources,
    session: Session,
    request: ReportRequest,
    subject: str,
    target: tuple[str, uuid.UUID] | None = None,
) -> Any:  # noqa: ANN401 - the mail callback or None
    requester = request.requested_by
    object_type, object_id = target or ("report", request.id)
    body = f"{subject}\n\nReport {request.id} ({request.kind}) of {request.object_type} " + (
        f"{request.object_id}.\n\n{request.message}".rstrip()
    )
    session.add(
        Notification(
            user_id=requester.id,
            subject=subject[:300],
            body=body,
            object_type=object_type,
            object_id=object_id,
        )
    )
    email = requester.email
    return (lambda: send_mail(res.settings, [email], subject, body)) if email else None


def generate_report(res: JobResources, request_id: uuid.UUID) -> str:
    """Generate the report of one queued request; safe to run twice (the request is claimed).

    Returns:
        ``done``, ``failed``, or ``skipped`` when the request is not queued (any more).
    """
    with res.unit_of_work() as uow:
        session = uow.session
        request = session.scalars(
            select(ReportRequest)
            .where(ReportRequest.id == request_id, ReportRequest.status == "queued")
            .with_for_update(skip_locked=True)
        ).first()
        if request is None:
            return "skipped"
        actor = _actor(request.requested_by, res.hostname)
        try:
            with session.begin_nested():
                report = _file(
                    res, session, request, load_content(res, session, request, res.clock.now())
                )
                session.flush()
        except UserError as exc:
            return _fail(res, uow, request, actor, str(exc))
        request.status, request.updated_at = "done", res.clock.now()
        record(
            session,
            actor,
            EventDraft(
                "report.generate",
                "report",
                str(report.id),
                {
                    "kind": report.kind,
                    "record": f"{report.object_type} {report.record_label}",
                    "sha256": report.blob_sha256,
                    "pages": report.page_count,
                    "seal": report.seal_subject,
                },
            ),
        )
        mail = _notify(res, session, request, f"Report ready: {report.title}"[:300])
        if mail is not None:
            uow.after_commit(mail)
        uow.commit()
        return "done"


def _fail(res: JobResources, uow: Any, request: ReportRequest, actor: Actor, message: str) -> str:  # noqa: ANN401
    request.status, request.message, request.updated_at = "failed", message, res.clock.now()
    record(
        uow.session,
        actor,
        EventDraft(
            "report.generate_failed",
            "report",
            str(request.id),
            {"kind": request.kind, "record": f"{request.object_type} {request.object_id}"},
            reason=message,
        ),
    )
    mail = _notify(
        res,
        uow.session,
        request,
        f"Report failed: {request.kind} report",
        _failure_target(request),
    )
    if mail is not None:
        uow.after_commit(mail)
    uow.commit()
    return "failed"
