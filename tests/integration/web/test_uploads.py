"""Browser uploads: streamed into the store, committed as one version, or leaving nothing."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.models import Blob, DatasetVersion, VersionFile
from lims.runtime.resources import Resources
from lims.web.uploads import batches
from lims.web.uploads.staging import DEFAULT_TTL_S, UploadStaging
from tests.integration.web.conftest import csrf_token, log_in
from tests.integration.web.uploading import make_sample_via_web, open_batch, put_file, upload

BODY = b"\x00\x01tomogram slice\n" * 5000
SHA = hashlib.sha256(BODY).hexdigest()


def _count(uow: UnitOfWork, model: type) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _stored(resources: Resources) -> list[Path]:
    return sorted(p for p in (resources.blobstore.root / "blobs").rglob("*") if p.is_file())


@pytest.mark.req("A11-06")
def test_uploaded_file_is_listed_with_its_sha256_and_downloads_identically(
    logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    sample_url = make_sample_via_web(logged_in)

    response = upload(logged_in, sample_url, {"scan/slice_0001.raw": BODY})

    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["number"] == 1
    page = logged_in.get(result["url"]).get_data(as_text=True)
    assert SHA in page
    assert "scan/slice_0001.raw" in page
    assert "UTC" in page
    assert "Marie Curie (mcurie)" in page
    entry = uow.session.scalars(select(VersionFile)).one()
    assert entry.blob_sha256 == SHA

    download = logged_in.get(f"/files/{entry.id}")
    assert download.status_code == 200
    assert download.data == BODY
    assert download.headers["Content-Length"] == str(len(BODY))
    assert download.headers["ETag"] == f'"{SHA}"'
    assert "attachment" in download.headers["Content-Disposition"]
    assert "slice_0001.raw" in download.headers["Content-Disposition"]
    actions = list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-1] == "file.download"
    assert {"dataset.create", "version.create"} <= set(actions)


def test_download_answers_conditional_and_range_requests(
    logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    sample_url = make_sample_via_web(logged_in)
    upload(logged_in, sample_url, {"a.raw": BODY})
    entry = uow.session.scalars(select(VersionFile)).one()

    cached = logged_in.get(f"/files/{entry.id}", headers={"If-None-Match": f'"{SHA}"'})
    part = logged_in.get(f"/files/{entry.id}", headers={"Range": "bytes=2-9"})

    assert cached.status_code == 304
    assert part.status_code == 206
    assert part.data == BODY[2:10]


def test_a_second_upload_to_the_dataset_is_version_two(
    logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    sample_url = make_sample_via_web(logged_in)
    upload(logged_in, sample_url, {"a.raw": BODY})

    response = upload(
        logged_in,
        sample_url,
        {"a.raw": BODY, "recon/b.raw": b"second"},
        reason="reconstruction added",
    )

    assert response.get_json()["number"] == 2
    page = logged_in.get(response.get_json()["url"]).get_data(as_text=True)
    assert "reconstruction added" in page
    assert "v2" in page
    assert _count(uow, DatasetVersion) == 2
    sample_page = logged_in.get(sample_url).get_data(as_text=True)
    assert "scan-001" in sample_page


def test_cut_off_upload_leaves_no_version_and_no_blob(
    logged_in: FlaskClient, uow: UnitOfWork, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    status, batch, token = open_batch(logged_in, sample_url)
    assert status == 200

    response = put_file(
        logged_in,
        batch,
        token,
        "cut.raw",
        BODY[:1000],
        environ_overrides={"CONTENT_LENGTH": str(len(BODY))},
    )

    assert response.status_code == 400, response.get_json()
    assert "error" in response.get_json()
    commit = logged_in.post(batch["commit_url"], headers={"X-CSRFToken": token})
    assert commit.status_code == 400
    assert "no file was uploaded" in commit.get_json()["error"]
    assert _count(uow, DatasetVersion) == 0
    assert _count(uow, Blob) == 0
    assert _stored(resources) == []
    assert resources.blobstore.stale_temporary_files() == []


def test_upload_to_a_missing_sample_is_404(logged_in: FlaskClient) -> None:
    make_sample_via_web(logged_in)
    status, body, _ = open_batch(logged_in, f"/samples/{uuid.uuid4()}")
    assert status == 404
    assert body == {"error": "no such sample"}


def test_raw_upload_without_csrf_header_stores_nothing(
    logged_in: FlaskClient, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, _ = open_batch(logged_in, sample_url)

    response = put_file(logged_in, batch, "forged", "a.raw", BODY)

    assert response.status_code == 400
    assert _stored(resources) == []


def test_opening_a_batch_needs_a_reason(logged_in: FlaskClient) -> None:
    sample_url = make_sample_via_web(logged_in)
    status, body, _ = open_batch(logged_in, sample_url, reason="  ")
    assert status == 400
    assert "Reason" in body["error"]


def test_cancel_discards_staged_blobs(
    logged_in: FlaskClient, uow: UnitOfWork, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, token = open_batch(logged_in, sample_url)
    assert put_file(logged_in, batch, token, "a.raw", BODY).status_code == 200
    assert len(_stored(resources)) == 1

    assert logged_in.post(batch["cancel_url"], headers={"X-CSRFToken": token}).status_code == 200

    assert _stored(resources) == []
    commit = logged_in.post(batch["commit_url"], headers={"X-CSRFToken": token})
    assert commit.status_code == 404
    assert _count(uow, DatasetVersion) == 0


def test_a_blob_lost_before_commit_is_a_conflict_and_nothing_commits(
    logged_in: FlaskClient, uow: UnitOfWork, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, token = open_batch(logged_in, sample_url)
    put_file(logged_in, batch, token, "a.raw", BODY)
    resources.blobstore.discard_new(SHA)

    commit = logged_in.post(batch["commit_url"], headers={"X-CSRFToken": token})

    assert commit.status_code == 409
    assert "upload again" in commit.get_json()["error"]
    assert _count(uow, DatasetVersion) == 0


def test_duplicate_path_in_one_upload_is_refused(logged_in: FlaskClient) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, token = open_batch(logged_in, sample_url)
    assert put_file(logged_in, batch, token, "a.raw", BODY).status_code == 200
    response = put_file(logged_in, batch, token, "./a.raw", b"other bytes")
    assert response.status_code == 409


def test_upload_larger_than_the_limit_is_refused_before_reading(
    logged_in: FlaskClient, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, token = open_batch(logged_in, sample_url)
    limit = resources.settings.max_upload_gb * 1_000_000_000

    response = put_file(
        logged_in,
        batch,
        token,
        "huge.raw",
        b"",
        environ_overrides={"CONTENT_LENGTH": str(int(limit) + 1)},
    )

    assert response.status_code == 413
    assert _stored(resources) == []


def test_someone_elses_batch_is_not_found(
    logged_in: FlaskClient, app: Flask, admin: Identity, resources: Resources
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, _ = open_batch(logged_in, sample_url)
    other = app.test_client()
    assert log_in(other, admin.username).status_code == 302
    token = csrf_token(other, "/")

    response = put_file(other, batch, token, "a.raw", BODY)

    assert response.status_code == 404
    assert _stored(resources) == []


def test_batches_nobody_finished_are_swept_when_the_next_upload_starts(
    logged_in: FlaskClient, resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    sample_url = make_sample_via_web(logged_in)
    _, batch, token = open_batch(logged_in, sample_url)
    put_file(logged_in, batch, token, "a.raw", BODY)
    staging = UploadStaging(resources.redis)
    ctx = resources.service_context(uow, scientist)
    now = resources.clock.now().timestamp()

    assert batches.sweep_expired(ctx, staging, now) == 0
    assert len(_stored(resources)) == 1
    assert batches.sweep_expired(ctx, staging, now + DEFAULT_TTL_S + 1) == 1

    assert _stored(resources) == []
    commit = logged_in.post(batch["commit_url"], headers={"X-CSRFToken": token})
    assert commit.status_code == 404
