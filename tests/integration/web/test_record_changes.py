"""Edit, retire, notes and metadata from the record pages: reasons, history, banners."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit.models import AuditEvent
from lims.db.uow import UnitOfWork
from lims.models import Dataset, DatasetVersion, Project, Retirement, Sample
from tests.integration.web.conftest import csrf_token, make_project
from tests.integration.web.uploading import make_sample_via_web, upload

UPLOAD_METADATA = {"source": {"file_count": 1, "via": "browser upload"}}
_PROJECT_URL = re.compile(r"/projects/[0-9a-f-]{36}")


def _post(client: FlaskClient, page: str, action: str, prefix: str, **fields: str):
    token = csrf_token(client, page)
    data = {f"{prefix}-{key}": value for key, value in fields.items()}
    data[f"{prefix}-csrf_token"] = token
    return client.post(action, data=data)


def _project_url(client: FlaskClient, name: str = "Battery") -> str:
    url = make_project(client, name, "cells")
    assert _PROJECT_URL.fullmatch(url)
    return url


def _events(uow: UnitOfWork, action: str) -> list[AuditEvent]:
    return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _project(uow: UnitOfWork, url: str) -> Project:
    uow.session.expire_all()
    found = uow.session.get(Project, uuid.UUID(url.rsplit("/", 1)[1]))
    assert found is not None
    return found


def _form_error(page: str) -> str:
    found = re.search(r'<p class="form-error" role="alert">([^<]*)</p>', page)
    assert found, "no error on the form"
    return found.group(1)


@pytest.mark.req("A11-10")
def test_edit_with_a_reason_shows_old_and_new_in_the_history(
    as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    url = _project_url(as_admin)

    response = _post(
        as_admin,
        url,
        f"{url}/edit",
        "edit",
        name="Battery ageing",
        description="cells",
        reason="name agreed with the sponsor",
    )

    assert response.status_code == 302
    assert response.location == url
    page = as_admin.get(url).get_data(as_text=True)
    assert '<h1><span class="kind">Project</span> Battery ageing</h1>' in page
    history = page[page.index('id="history"') :]
    assert "project.update" in history
    assert "name: Battery → Battery ageing" in history
    assert "name agreed with the sponsor" in history
    assert "Admin (admin)" in history
    assert _project(uow, url).name == "Battery ageing"
    assert len(_events(uow, "project.update")) == 1


@pytest.mark.req("A11-10")
@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"name": "Battery ageing", "reason": "  "}, 400, "a change needs a reason"),
        (
            {"name": "Cathode", "reason": "rename"},
            409,
            "a project named &#39;Cathode&#39; already exists",
        ),
        ({"name": "Battery", "reason": "no-op"}, 400, "nothing to change: the values are the same"),
        ({"name": "", "reason": "rename"}, 400, "New name: This field is required."),
    ],
)
def test_a_refused_edit_says_why_on_the_form_and_changes_nothing(
    as_admin: FlaskClient,
    uow: UnitOfWork,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    url = _project_url(as_admin)
    _project_url(as_admin, "Cathode")

    response = _post(as_admin, url, f"{url}/edit", "edit", description="cells", **fields)

    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert _form_error(page) == message
    assert '<details class="panel change edit-panel" id="edit" open>' in page
    assert _project(uow, url).name == "Battery"
    assert _events(uow, "project.update") == []


def test_edit_a_sample_description(logged_in: FlaskClient, uow: UnitOfWork) -> None:
    sample_url = make_sample_via_web(logged_in)

    response = _post(
        logged_in,
        sample_url,
        f"{sample_url}/edit",
        "edit",
        name="Cell 7",
        description="18650, cycled at 45 °C",
        reason="description completed",
    )

    assert response.status_code == 302
    history = logged_in.get(sample_url).get_data(as_text=True)
    assert "description: (empty) → 18650, cycled at 45 °C" in history
    assert "description completed" in history
    uow.session.expire_all()
    assert uow.session.scalar(select(Sample.description)) == "18650, cycled at 45 °C"


@pytest.mark.req("A11-10")
def test_retire_needs_reason_and_confirmation(as_admin: FlaskClient, uow: UnitOfWork) -> None:
    url = _project_url(as_admin)

    no_reason = _post(as_admin, url, f"{url}/retire", "retire", reason="", confirm="y")
    unconfirmed = _post(as_admin, url, f"{url}/retire", "retire", reason="duplicate")

    assert no_reason.status_code == 400
    assert _form_error(no_reason.get_data(as_text=True)) == "retiring a record needs a reason"
    assert unconfirmed.status_code == 400
    assert "tick the box to confirm" in _form_error(unconfirmed.get_data(as_text=True))
    assert uow.session.scalar(select(func.count()).select_from(Retirement)) == 0
    assert _events(uow, "project.retire") == []


@pytest.mark.req("P11-09")
def test_a_retired_project_shows_a_banner_and_leaves_the_list(
    as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    url = _project_url(as_admin)
    _project_url(as_admin, "Cathode")

    response = _post(
        as_admin, url, f"{url}/retire", "retire", reason="entered twice by mistake", confirm="y"
    )

    assert response.status_code == 302
    page = as_admin.get(url).get_data(as_text=True)
    assert '<div class="retired-banner" role="note">' in page
    assert "by Admin (admin) — " in page
    assert "entered twice by mistake" in page
    assert "UTC" in page[page.index("retired-banner") :]
    assert "Retire project" not in page, "no second retirement"
    assert "project.retire" in page[page.index('id="history"') :]
    listing = as_admin.get("/").get_data(as_text=True)
    assert url not in listing
    assert "Cathode" in listing
    assert 'href="/?retired=1">Show retired (1)</a>' in listing
    shown = as_admin.get("/?retired=1").get_data(as_text=True)
    assert url in shown
    assert '<span class="badge badge-retired">retired</span>' in shown
    assert "Hide retired projects" in shown
    assert len(_events(uow, "project.retire")) == 1


@pytest.mark.req("P11-09")
def test_a_retired_dataset_and_version_stay_readable_and_downloadable(
    logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    sample_url = make_sample_via_web(logged_in)
    dataset_url = upload(logged_in, sample_url, {"scan.raw": b"projection"}).get_json()["url"]
    version = uow.session.scalars(select(DatasetVersion)).one()
    version_url = f"/versions/{version.id}"

    retired_version = _post(
        logged_in,
        version_url,
        f"{version_url}/retire",
        "retire",
        reason="bad flat field",
        confirm="y",
    )
    retired_dataset = _post(
        logged_in,
        dataset_url,
        f"{dataset_url}/retire",
        "retire",
        reason="wrong sample",
        confirm="y",
    )

    assert retired_version.status_code == 302
    assert retired_dataset.status_code == 302
    sample_page = logged_in.get(sample_url).get_data(as_text=True)
    assert dataset_url not in sample_page
    assert "Show retired (1)" in sample_page
    dataset_page = logged_in.get(dataset_url).get_data(as_text=True)
    assert "wrong sample" in dataset_page[dataset_page.index("retired-banner") :]
    assert "Show retired (1)" in dataset_page, "the retired version leaves the version list"
    version_page = logged_in.get(version_url).get_data(as_text=True)
    assert "bad flat field" in version_page
    link = re.search(r'href="(/files/[0-9a-f-]{36})"', version_page)
    assert link
    download = logged_in.get(link.group(1))
    assert download.status_code == 200
    assert download.data == b"projection"


def test_a_note_appears_and_is_audited(logged_in: FlaskClient, uow: UnitOfWork) -> None:
    url = _project_url(logged_in)

    response = _post(logged_in, url, f"{url}/notes", "note", body="Cells from lot 2024-17.")
    empty = _post(logged_in, url, f"{url}/notes", "note", body="   ")

    assert response.status_code == 302
    assert response.location == f"{url}#notes"
    page = logged_in.get(url).get_data(as_text=True)
    notes = page[page.index('id="notes"') :]
    assert "Cells from lot 2024-17." in notes
    assert "Marie Curie (mcurie)" in notes
    assert empty.status_code == 400
    assert _form_error(empty.get_data(as_text=True)) == "a note cannot be empty"
    events = _events(uow, "note.create")
    assert len(events) == 1
    assert json.loads(events[0].changes)["body"] == [None, "Cells from lot 2024-17."]


def _dataset(client: FlaskClient) -> tuple[str, str]:
    sample_url = make_sample_via_web(client)
    return sample_url, upload(client, sample_url, {"scan.raw": b"projection"}).get_json()["url"]


def test_metadata_amendment_makes_a_new_version(logged_in: FlaskClient, uow: UnitOfWork) -> None:
    _, url = _dataset(logged_in)
    page = logged_in.get(url).get_data(as_text=True)
    assert '<td class="mono">source</td>' in page, "the upload's own metadata"

    response = _post(
        logged_in,
        url,
        f"{url}/metadata",
        "meta",
        metadata='{"voltage_kv": 80, "voxel_um": 4.2, "filter": {"material": "Cu"}}',
        reason="scan protocol added",
    )

    assert response.status_code == 302
    page = logged_in.get(url).get_data(as_text=True)
    assert "Metadata saved as version 2" in page
    assert '<td class="mono">voltage_kv</td><td><code>80</code></td>' in page
    assert "&#34;material&#34;: &#34;Cu&#34;" in page or "&quot;material&quot;" in page
    assert "scan protocol added" in page
    uow.session.expire_all()
    versions = uow.session.scalars(select(DatasetVersion).order_by(DatasetVersion.number)).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].metadata_["voltage_kv"] == 80
    assert versions[0].metadata_ == UPLOAD_METADATA


@pytest.mark.parametrize(
    ("metadata", "reason", "message"),
    [
        (
            '{"voltage_kv": 80,}',
            "protocol",
            (
                "the metadata is not valid JSON: Expecting property name enclosed in double"
                " quotes (line 1, column 19)"
            ),
        ),
        (
            "[1, 2]",
            "protocol",
            "the metadata must be a JSON object, like {&#34;voltage_kv&#34;: 80}",
        ),
        ('{"voltage_kv": 80}', "", "a metadata change needs a reason"),
        (json.dumps(UPLOAD_METADATA), "protocol", "nothing to change: the metadata is the same"),
    ],
)
def test_refused_metadata_changes_create_no_version(
    logged_in: FlaskClient, uow: UnitOfWork, metadata: str, reason: str, message: str
) -> None:
    _, url = _dataset(logged_in)

    response = _post(logged_in, url, f"{url}/metadata", "meta", metadata=metadata, reason=reason)

    assert response.status_code == 400
    assert _form_error(response.get_data(as_text=True)) == message
    assert uow.session.scalar(select(func.count()).select_from(DatasetVersion)) == 1
    assert uow.session.scalar(select(func.count()).select_from(Dataset)) == 1
