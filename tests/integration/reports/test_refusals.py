"""Bad input: each refusal says clearly what is wrong, generates nothing and is audited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import Notification, Report, ReportRequest
from lims.services import reports
from processing import context as job_context
from reports.certificate import create_default, ensure_certificate, seal_files
from reports.errors import CertificateError
from tests.conftest import as_user
from tests.factories import make_user
from tests.integration.reports.conftest import events, stored_pdf


def _count(ctx, model) -> int:
    return ctx.uow.session.scalar(select(func.count()).select_from(model))


def _nothing_generated(ctx) -> None:
    ctx.uow.session.expire_all()
    assert _count(ctx, ReportRequest) == 0
    assert _count(ctx, Report) == 0


def _denied(ctx) -> dict:
    (event,) = events(ctx, "report.request_denied")
    return json.loads(event.changes)


def _expire_certificate(settings) -> None:
    """Put an expired seal certificate where the embedded default lives."""
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * 6)
    files = seal_files(settings)
    for path in (files.certificate, files.key, files.trust_root, files.passphrase_file):
        path.unlink(missing_ok=True)
    create_default(files, settings.lab_name, long_ago)


@pytest.mark.req("P11-03")
def test_record_the_user_may_not_read(ctx, resources, ingest):
    version = ingest()
    outsider = make_user(ctx.uow, "outsider", roles=set())
    other = as_user(resources, ctx.uow, outsider)
    with pytest.raises(NotFoundError, match="no such dataset version"):
        reports.request_report(other, "dataset", str(version.id))
    _nothing_generated(ctx)
    assert _denied(ctx)["denied"] == "no such dataset version"


@pytest.mark.req("P11-03")
def test_audit_trail_report_needs_audit_review(ctx):
    with pytest.raises(PermissionDeniedError, match="review the audit trail"):
        reports.request_report(ctx, "audit_trail", "")
    _nothing_generated(ctx)
    assert "review the audit trail" in _denied(ctx)["denied"]


@pytest.mark.req("P11-03")
def test_record_still_being_prepared(ctx, ingest):
    version = ingest(prepare=False)
    with pytest.raises(ConflictError, match="still being prepared"):
        reports.request_report(ctx, "dataset", str(version.id))
    _nothing_generated(ctx)
    assert "still being prepared" in _denied(ctx)["denied"]


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_record(ctx, bad):
    with pytest.raises(NotFoundError, match="no such dataset version"):
        reports.request_report(ctx, "dataset", bad)
    _nothing_generated(ctx)


def test_unknown_kind(ctx):
    with pytest.raises(UserError, match="unknown report kind 'poster'"):
        reports.request_report(ctx, "poster", "x")
    _nothing_generated(ctx)


@pytest.mark.req("P11-19")
def test_expired_certificate_refused_at_request(ctx, ingest):
    version = ingest()
    _expire_certificate(ctx.settings)
    with pytest.raises(CertificateError, match=r"expired on \d{4}-\d\d-\d\d"):
        reports.request_report(ctx, "dataset", str(version.id))
    _nothing_generated(ctx)
    assert "expired" in _denied(ctx)["denied"]


@pytest.mark.req("P11-19")
def test_missing_configured_certificate(ctx, ingest, tmp_path):
    version = ingest()
    settings = ctx.settings.replace(
        report_cert=tmp_path / "absent.crt", report_key=tmp_path / "absent.key"
    )
    configured = dataclasses.replace(ctx, settings=settings)
    with pytest.raises(CertificateError, match=r"seal certificate .*absent\.crt is missing"):
        reports.request_report(configured, "dataset", str(version.id))
    _nothing_generated(ctx)
    assert not (tmp_path / "absent.crt").exists()
    assert "is missing" in _denied(ctx)["denied"]


@pytest.mark.req("P11-19")
def test_wrong_key_passphrase(ctx, ingest):
    version = ingest()
    ensure_certificate(ctx.settings, dt.datetime.now(dt.UTC))
    wrong = dataclasses.replace(
        ctx, settings=ctx.settings.replace(report_key_passphrase="not the passphrase")
    )
    with pytest.raises(CertificateError, match="cannot read the seal key"):
        reports.request_report(wrong, "dataset", str(version.id))
    _nothing_generated(ctx)


@pytest.mark.req("P11-19")
def test_certificate_expiring_before_the_worker_runs(ctx, worker, ingest, mailbox):
    version = ingest()
    request = reports.request_report(ctx, "dataset", str(version.id))
    ctx.uow.commit()
    _expire_certificate(ctx.settings)
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    assert _count(ctx, Report) == 0
    failed = ctx.uow.session.get(ReportRequest, request.id)
    assert failed.status == "failed"
    assert "expired" in failed.message
    (event,) = events(ctx, "report.generate_failed")
    assert "expired" in event.reason
    # The failure notice points to the version, whose page lists the failed request.
    note = ctx.uow.session.scalars(
        select(Notification).where(Notification.object_id == version.id)
    ).one()
    assert note.subject.startswith("Report failed")
    assert note.object_type == "dataset_version"
    listed = reports.reports_of(ctx, "dataset_version", str(version.id))
    assert listed.reports == []
    assert [p.status for p in listed.pending] == ["failed"]


@pytest.mark.parametrize("content", [None, b"not an image"])
def test_unreadable_logo_is_refused(ctx, ingest, tmp_path, content):
    version = ingest()
    logo = tmp_path / "logo.png"
    if content is not None:
        logo.write_bytes(content)
    configured = dataclasses.replace(ctx, settings=ctx.settings.replace(report_logo=logo))
    with pytest.raises(UserError, match="report logo"):
        reports.request_report(configured, "dataset", str(version.id))
    _nothing_generated(ctx)
    assert "report logo" in _denied(ctx)["denied"]


def test_configured_logo_is_printed_on_every_page(ctx, worker, ingest, tmp_path):
    version = ingest()
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (20, 90, 160)).save(logo)
    settings = ctx.settings.replace(report_logo=logo)
    configured = dataclasses.replace(ctx, settings=settings)
    request = reports.request_report(configured, "dataset", str(version.id))
    ctx.uow.commit()
    job_context.set_resources(dataclasses.replace(job_context.resources(), settings=settings))
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    report = ctx.uow.session.get(Report, request.id)
    reader = PdfReader(io.BytesIO(stored_pdf(ctx, report)))
    for page in reader.pages:
        assert any(image.image.size == (120, 40) for image in page.images)
