"""The audit trail page: admin only, filters, exports (audited and committed), chain check."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from audit.export import CSV_COLUMNS
from audit.models import AuditEvent
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from tests.integration.web.conftest import csrf_token, log_in

_ACTION_CELL = re.compile(r"<td><code>([a-z_.]+)</code></td>")


def _create_project(client: FlaskClient, name: str) -> str:
    token = csrf_token(client, "/")
    response = client.post("/projects", data={"name": name, "csrf_token": token})
    assert response.status_code == 302
    return response.location


def _actions(page: str) -> list[str]:
    return _ACTION_CELL.findall(page)


def _events(uow: UnitOfWork, action: str) -> list[AuditEvent]:
    return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.req("A11-11")
@pytest.mark.parametrize(
    "path", ["/audit", "/audit/export.csv", "/audit/export.pdf", "/audit/verify"]
)
def test_the_audit_trail_is_refused_to_a_non_admin(
    logged_in: FlaskClient, uow: UnitOfWork, path: str
) -> None:
    response = logged_in.get(path)

    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "may" in page or "allowed" in page, "the refusal says why"
    assert "Back to the projects" in page, "the friendly error page"
    assert _events(uow, "audit.export") == []


def test_the_audit_link_is_shown_to_admins_only(
    logged_in: FlaskClient, app, admin: Identity
) -> None:
    assert "Audit trail</a>" not in logged_in.get("/").get_data(as_text=True)
    other = app.test_client()
    log_in(other, admin.username)
    assert "Audit trail</a>" in other.get("/").get_data(as_text=True)


@pytest.mark.req("A11-11")
def test_the_admin_sees_events_newest_first_with_time_zone(as_admin: FlaskClient) -> None:
    _create_project(as_admin, "Battery")

    response = as_admin.get("/audit")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    actions = _actions(page)
    assert actions[0] == "project.create"
    assert "login.success" in actions
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)
    assert "name: — → Battery" in page
    assert "Admin (admin)" in page
    assert re.search(r'href="/projects/[0-9a-f-]{36}"', page), "the record is linked"
    assert "events match" in page


def test_filter_by_action_shows_only_matching_rows(as_admin: FlaskClient) -> None:
    _create_project(as_admin, "Battery")
    _create_project(as_admin, "Cathode")

    page = as_admin.get("/audit", query_string={"action": "project."}).get_data(as_text=True)

    assert _actions(page) == ["project.create", "project.create"]
    assert "2 events match" in page
    assert 'href="/audit/export.csv?action=project."' in page
    assert 'href="/audit/export.pdf?action=project."' in page


def test_filter_by_user_object_type_and_time(as_admin: FlaskClient, app, scientist) -> None:
    project_url = _create_project(as_admin, "Battery")
    other = app.test_client()
    log_in(other, scientist.username)
    token = csrf_token(other, project_url)
    other.post(f"{project_url}/samples", data={"name": "Cell 7", "csrf_token": token})

    by_user = as_admin.get("/audit", query_string={"actor": "curie", "object_type": "sample"})
    page = by_user.get_data(as_text=True)
    assert _actions(page) == ["sample.create"]
    assert as_admin.get("/audit", query_string={"actor": "curie", "object_type": "project"})
    assert "Marie Curie (mcurie)" in page
    future = as_admin.get("/audit", query_string={"since": "2999-01-01T00:00"})
    assert "No events match this filter." in future.get_data(as_text=True)
    past = as_admin.get("/audit", query_string={"until": "2000-01-01T00:00"})
    assert _actions(past.get_data(as_text=True)) == []


def test_a_bad_time_is_a_clear_error_on_the_form(as_admin: FlaskClient) -> None:
    response = as_admin.get("/audit", query_string={"since": "yesterday"})

    assert response.status_code == 400
    assert "From: &#39;yesterday&#39; is not a date and time" in response.get_data(as_text=True)


@pytest.mark.req("P11-10")
def test_csv_export_has_the_filtered_rows_and_is_audited_and_committed(
    as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    _create_project(as_admin, "Battery")
    _create_project(as_admin, "Cathode")

    response = as_admin.get("/audit/export.csv", query_string={"action": "project."})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="ctvault-audit-trail-\d{8}T\d{6}Z\.csv"', disposition
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[4] for row in rows[1:]] == ["project.create", "project.create"]
    assert [row[2] for row in rows[1:]] == ["Admin (admin)"] * 2
    assert "name: — → Battery" in rows[1][7]
    # End the streamed request (its unit of work closes) before reading in another session.
    response.close()
    # Seen from another session after the request ended: the export event was committed.
    exports = _events(uow, "audit.export")
    assert len(exports) == 1
    assert exports[0].object_id == "csv"
    assert json.loads(exports[0].changes)["filter"] == {"action": "project."}


@pytest.mark.req("P11-10")
def test_pdf_export_is_a_readable_paginated_pdf_and_is_audited(
    as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    _create_project(as_admin, "Battery")

    response = as_admin.get("/audit/export.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('.pdf"')
    assert response.data.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "page 1 of" in text
    assert "project.create" in text
    assert [event.object_id for event in _events(uow, "audit.export")] == ["pdf"]


def test_verify_chain_on_demand(as_admin: FlaskClient) -> None:
    _create_project(as_admin, "Battery")
    assert "Chain OK" not in as_admin.get("/audit").get_data(as_text=True)

    fragment = as_admin.get("/audit/verify", headers={"HX-Request": "true"})
    full = as_admin.get("/audit/verify", query_string={"action": "project."})

    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert "Chain OK" in text
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', text)
    assert "<html" not in text
    page = full.get_data(as_text=True)
    assert "Chain OK" in page
    assert _actions(page) == ["project.create"], "the filter is kept"


@pytest.mark.req("P11-07")
def test_logout_is_audited(logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity) -> None:
    token = csrf_token(logged_in, "/")

    response = logged_in.post("/logout", data={"csrf_token": token})

    assert response.status_code == 302
    events = _events(uow, "logout")
    assert len(events) == 1
    assert events[0].actor_id == scientist.user_id
    assert events[0].actor_name == "Marie Curie (mcurie)"
