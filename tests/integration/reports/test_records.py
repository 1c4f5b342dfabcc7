"""Reports are records: immutable rows, bound to their blob, signable by QA."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lims.auth.roles import Role
from lims.errors import PermissionDeniedError
from lims.models import Report
from lims.services import reports, signing
from reports.signable import report_content
from tests.conftest import as_owner, as_user
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.reports.conftest import pdf_text, stored_pdf

CHANGES = (
    "UPDATE reports SET title = 'changed'",
    "UPDATE reports SET blob_sha256 = repeat('0', 64)",
    "DELETE FROM reports",
    "TRUNCATE reports CASCADE",
)


@pytest.fixture
def filed(ctx, worker, ingest) -> Report:
    version = ingest()
    request = reports.request_report(ctx, "dataset", str(version.id))
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    return ctx.uow.session.get(Report, request.id)


@pytest.mark.req("P11-21", "P11-03")
@pytest.mark.parametrize("statement", CHANGES)
def test_the_app_role_cannot_change_a_report(ctx, filed, statement):
    session = ctx.uow.session
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(text(statement))


@pytest.mark.req("P11-21")
@pytest.mark.parametrize("statement", CHANGES[:3])
def test_even_the_owner_is_refused_by_the_trigger(ctx, filed, statement):
    session = ctx.uow.session
    with (
        as_owner(session),
        pytest.raises(DBAPIError, match="immutable"),
        session.begin_nested(),
    ):
        session.execute(text(statement))


def test_a_request_may_change_only_its_state(ctx, filed):
    session = ctx.uow.session
    with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
        session.execute(text("UPDATE report_requests SET object_id = 'x'"))


@pytest.mark.req("P11-20", "P11-21")
def test_qa_signs_a_report_and_a_later_report_prints_the_signature(ctx, resources, worker, filed):
    qa = make_user(ctx.uow, "lmeitner", display_name="Lise Meitner", roles={Role.REVIEWER})
    qa_ctx = as_user(resources, ctx.uow, qa)
    signed = signing.sign(qa_ctx, "report", str(filed.id), "reviewed", DEFAULT_PASSWORD)
    assert signed.printed_name.startswith("Lise Meitner")
    assert signed.content_sha256 != filed.blob_sha256  # the digest of the canonical content
    assert report_content(filed)["sha256"] == filed.blob_sha256
    with pytest.raises(PermissionDeniedError, match="reviewer of a report may not also approve"):
        signing.sign(qa_ctx, "report", str(filed.id), "approved", DEFAULT_PASSWORD)
    # The signature belongs to the report record, not to the dataset version it covers.
    again = reports.request_report(ctx, "dataset", filed.object_id)
    ctx.uow.commit()
    worker.work(burst=True)
    ctx.uow.session.expire_all()
    second = ctx.uow.session.get(Report, again.id)
    assert "Lise Meitner" not in pdf_text(stored_pdf(ctx, second))


@pytest.mark.req("P11-21")
def test_a_microscopist_cannot_sign_a_report(ctx, filed):
    with pytest.raises(PermissionDeniedError, match="sign a report as reviewed"):
        signing.sign(ctx, "report", str(filed.id), "reviewed", DEFAULT_PASSWORD)
