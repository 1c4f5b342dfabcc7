"""Report pages: request from the record page, listed there, downloadable, verifiable by upload."""

from __future__ import annotations

import io
import re

import pytest

from lims.auth.roles import Role
from lims.models import Report
from tests.factories import make_user
from tests.integration.reports.conftest import stored_pdf
from tests.integration.web.conftest import csrf_token, log_in


@pytest.mark.req("P11-03", "AL-02")
def test_request_list_download_and_verify_on_the_web(logged_in, ctx, worker, ingest):
    version = ingest()
    page = f"/versions/{version.id}"
    token = csrf_token(logged_in, page)
    posted = logged_in.post(
        "/reports/request",
        data={
            "csrf_token": token,
            "object_type": "dataset_version",
            "object_id": str(version.id),
            "next": page,
        },
    )
    assert posted.status_code == 302
    assert posted.headers["Location"].endswith(page)
    queued = logged_in.get(page).get_data(as_text=True)
    assert "is being generated" in queued

    worker.work(burst=True)
    ctx.uow.session.expire_all()
    report = ctx.uow.session.query(Report).one()
    listed = logged_in.get(page).get_data(as_text=True)
    assert f"/reports/{report.id}.pdf" in listed
    assert "Dataset report" in listed

    download = logged_in.get(f"/reports/{report.id}.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.data == stored_pdf(ctx, report)

    facts_page = logged_in.get(f"/reports/{report.id}")
    facts = facts_page.get_data(as_text=True)
    assert facts_page.status_code == 200, facts[-3000:]
    assert report.blob_sha256 in facts
    assert "PAdES" in facts

    token = csrf_token(logged_in, "/reports/verify")
    good = logged_in.post(
        "/reports/verify",
        data={"csrf_token": token, "file": (io.BytesIO(download.data), "report.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Verified." in good
    tampered = bytearray(download.data)
    tampered[len(tampered) // 2] ^= 0x01
    bad = logged_in.post(
        "/reports/verify",
        data={"csrf_token": token, "file": (io.BytesIO(bytes(tampered)), "copy.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Not verified." in bad
    assert re.search(r"not a copy of a report stored in ctvault", bad)


def test_request_refused_on_the_web_says_why(logged_in, ingest):
    version = ingest(prepare=False)
    page = f"/versions/{version.id}"
    token = csrf_token(logged_in, page)
    posted = logged_in.post(
        "/reports/request",
        data={
            "csrf_token": token,
            "object_type": "dataset_version",
            "object_id": str(version.id),
            "next": page,
        },
        follow_redirects=True,
    )
    assert "No report was requested: the dataset version is still being prepared" in (
        posted.get_data(as_text=True)
    )


def test_verify_without_a_file(logged_in):
    token = csrf_token(logged_in, "/reports/verify")
    answer = logged_in.post("/reports/verify", data={"csrf_token": token})
    assert answer.status_code == 400
    assert "Choose a PDF file to verify." in answer.get_data(as_text=True)


@pytest.mark.req("P11-03")
def test_audit_trail_reports_page(client, ctx, worker):
    auditor = make_user(ctx.uow, "auditor1", display_name="Ada Auditor", roles={Role.AUDITOR})
    log_in(client, auditor.username)
    token = csrf_token(client, "/reports/audit-trail")
    bad = client.post("/reports/audit-trail", data={"csrf_token": token, "since": "yesterday-ish"})
    assert bad.status_code == 400
    assert "No report was requested" in bad.get_data(as_text=True)
    posted = client.post(
        "/reports/audit-trail", data={"csrf_token": token, "action": "user.create"}
    )
    assert posted.status_code == 302
    worker.work(burst=True)
    page = client.get("/reports/audit-trail").get_data(as_text=True)
    assert "action=user.create" in page
    assert "Download PDF" in page


def test_audit_trail_reports_page_needs_audit_review(logged_in):
    assert logged_in.get("/reports/audit-trail").status_code == 403
