"""Reviewing the trail: filters, record history, CSV and PDF exports (themselves audited)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader

from audit.query import AuditFilter
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.errors import PermissionDeniedError
from lims.runtime.resources import Resources
from lims.services import audit_trail, catalogue, changes
from lims.services.context import ServiceContext
from tests.factories import as_project_admin


@pytest.fixture
def trail(ctx: ServiceContext) -> str:
    project = catalogue.create_project(as_project_admin(ctx), name="Battery")
    changes.update_project(
        as_project_admin(ctx), project.id, description="LFP cells", reason="scope clarified"
    )
    changes.update_project(
        as_project_admin(ctx), project.id, name="Battery 2026", reason="naming convention"
    )
    ctx.uow.commit()
    return str(project.id)


@pytest.fixture
def auditor_ctx(resources: Resources, uow: UnitOfWork, admin: Identity) -> ServiceContext:
    return resources.service_context(uow, admin)


@pytest.mark.req("A11-11", "P11-10")
def test_record_history_shows_who_what_when_why(ctx: ServiceContext, trail: str) -> None:
    events = audit_trail.record_history(ctx, "project", trail)
    assert [e.action for e in events] == ["project.create", "project.update", "project.update"]
    last = events[-1]
    assert last.actor_name == "Marie Curie (mcurie)"
    assert last.change_lines() == ["name: Battery → Battery 2026"]
    assert last.reason == "naming convention"
    assert last.occurred_at.tzname() == "UTC"


@pytest.mark.req("A11-11")
def test_filters_narrow_the_trail(auditor_ctx: ServiceContext, trail: str) -> None:
    updates, total = audit_trail.search_audit(auditor_ctx, AuditFilter(action="project.update"))
    assert total == 2
    assert {e.object_id for e in updates} == {trail}
    by_actor, _ = audit_trail.search_audit(auditor_ctx, AuditFilter(actor="curie"))
    assert by_actor
    assert all("Curie" in e.actor_name for e in by_actor)
    none, total = audit_trail.search_audit(auditor_ctx, AuditFilter(actor="nobody"))
    assert (none, total) == ([], 0)


@pytest.mark.req("P11-13")
def test_only_reviewers_see_the_whole_trail(ctx: ServiceContext, trail: str) -> None:
    with pytest.raises(PermissionDeniedError):
        audit_trail.search_audit(ctx, AuditFilter())
    with pytest.raises(PermissionDeniedError):
        audit_trail.export_audit_csv(ctx, AuditFilter())


@pytest.mark.req("P11-03", "A11-11", "P11-10")
def test_csv_export_has_every_event_and_is_itself_audited(
    auditor_ctx: ServiceContext, trail: str
) -> None:
    text = "".join(audit_trail.export_audit_csv(auditor_ctx, AuditFilter(object_id=trail)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["project.create", "project.update", "project.update"]
    assert rows[2]["changes"] == "name: Battery → Battery 2026"
    assert rows[2]["occurred_at_utc"].endswith("+00:00")
    exports, _ = audit_trail.search_audit(auditor_ctx, AuditFilter(action="audit.export"))
    assert exports[0].changes["format"] == "csv"


@pytest.mark.req("P11-03", "A11-11")
def test_pdf_export_is_paginated_and_readable(
    ctx: ServiceContext, auditor_ctx: ServiceContext, trail: str
) -> None:
    for i in range(60):
        changes.add_note(ctx, "project", __import__("uuid").UUID(trail), f"note {i}")
    pdf = audit_trail.export_audit_pdf(auditor_ctx, AuditFilter(object_id=trail), lab_name="Lab X")
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages >= 2
    first = reader.pages[0].extract_text()
    assert "Lab X" in first
    assert re.search(r"Chain verification\s+OK, \d+ events", first), first
    assert f"page 1 of {pages}" in first
    assert f"page {pages} of {pages}" in reader.pages[-1].extract_text()
    assert "Battery 2026" in "".join(p.extract_text() for p in reader.pages)
