"""Cursor pagination: stable pages, opaque HMAC-signed cursors, tampering refused with 400."""

from __future__ import annotations

import base64
import json

import pytest

from lims.db.uow import UnitOfWork
from lims.runtime.resources import Resources
from lims.services.catalogue import create_sample
from tests.integration.api.conftest import Api, Catalogue, error_of


@pytest.fixture
def many_samples(resources: Resources, uow: UnitOfWork, scientist, catalogue: Catalogue) -> str:  # type: ignore[no-untyped-def]
    ctx = resources.service_context(uow, scientist)
    for name in ("B-02", "a-01", "C-03", "d-04", "E-05"):
        create_sample(ctx, project_name="Battery", name=name)
    uow.commit()
    return f"/api/v1/projects/{catalogue.project_id}/samples"


def _walk(api: Api, url: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        body = api.get(url, **params).get_json()
        pages.append([s["name"] for s in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_cover_the_list_once_in_order(api: Api, many_samples: str) -> None:
    assert _walk(api, many_samples, 2) == [["a-01", "B-02"], ["C-03", "Cell 7"], ["d-04", "E-05"]]
    assert _walk(api, many_samples, 500) == [["a-01", "B-02", "C-03", "Cell 7", "d-04", "E-05"]]


def test_a_record_added_between_pages_shifts_nothing(
    api: Api, many_samples: str, resources: Resources, uow: UnitOfWork, scientist
) -> None:  # type: ignore[no-untyped-def]
    first = api.get(many_samples, limit="2").get_json()
    create_sample(resources.service_context(uow, scientist), project_name="Battery", name="0-new")
    uow.commit()
    second = api.get(many_samples, limit="2", cursor=first["next_cursor"]).get_json()
    assert [s["name"] for s in second["items"]] == ["C-03", "Cell 7"]


def _tamper_payload(cursor: str) -> str:
    payload, _, mac = cursor.partition(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"] = ["a", "00000000-0000-0000-0000-000000000000"]
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


@pytest.mark.req("P11-06")
def test_tampered_or_foreign_cursors_are_a_400(
    api: Api, many_samples: str, catalogue: Catalogue
) -> None:
    cursor = api.get(many_samples, limit="2").get_json()["next_cursor"]
    assert cursor
    flipped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    for bad in (
        _tamper_payload(cursor),
        flipped,
        "garbage",
        "",
        "....",
        "%%%.%%%",
        cursor.split(".")[0],
        "é" * 10,
    ):
        response = api.get(many_samples, cursor=bad)
        assert response.status_code == 400, bad
        error = error_of(response)
        assert error["code"] == "bad_request"
        assert "cursor" in error["message"]
    # A genuine cursor of one list does not fit another.
    other = api.get(f"/api/v1/samples/{catalogue.sample_id}/datasets", cursor=cursor)
    assert other.status_code == 400
    assert "another list" in error_of(other)["message"]


def test_a_cursor_is_opaque(api: Api, many_samples: str) -> None:
    cursor = api.get(many_samples, limit="1").get_json()["next_cursor"]
    assert "a-01" not in cursor, "no readable key in the cursor"
    assert cursor.count(".") == 1


def test_audit_pages_do_not_repeat_or_skip(api_for, auditor, catalogue: Catalogue) -> None:  # type: ignore[no-untyped-def]
    inspector: Api = api_for(auditor)
    everything = inspector.get("/api/v1/audit", limit="500").get_json()
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs, reverse=True)
    walked, cursor = [], None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        body = inspector.get("/api/v1/audit", **params).get_json()
        walked += [e["seq"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Token uses are audited too: the walk may start above the earlier read, never miss one.
    assert walked == sorted(set(walked), reverse=True), "no repeats, newest first"
    assert set(seqs) <= set(walked)
    changed = inspector.get("/api/v1/audit", limit="5", cursor=cursor or "x")
    assert changed.status_code == 400
