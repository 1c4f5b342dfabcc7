"""/api/v1/search: ranked hits with snippets and facets, only what the caller may see."""

from __future__ import annotations

from typing import Any

import pytest

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.runtime.resources import Resources
from lims.services.catalogue import create_sample
from tests.integration.api.conftest import Api, Catalogue, error_of


@pytest.mark.req("A11-11")
def test_text_search_finds_the_dataset_with_a_highlighted_snippet(
    api: Api, catalogue: Catalogue
) -> None:
    response = api.get("/api/v1/search", q="zeiss versa")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    hits = body["items"]
    assert [h["title"] for h in hits if h["kind"] == "dataset"] == ["scan-001"]
    dataset = next(h for h in hits if h["kind"] == "dataset")
    assert dataset["latest_version_id"] == str(catalogue.version.id)
    assert any(part["match"] for part in dataset["snippet"])
    assert body["sort"] == "relevance"
    assert "kind" in body["facets"]


def test_filters_and_kinds_narrow_the_results(api: Api, catalogue: Catalogue) -> None:
    samples = api.client.get(
        "/api/v1/search?kind=sample&kind=project", headers=api.headers()
    ).get_json()
    assert {h["kind"] for h in samples["items"]} == {"sample", "project"}
    mine = api.get("/api/v1/search", project=str(catalogue.other_project_id)).get_json()
    assert [h["title"] for h in mine["items"]] == ["Secret alloy"]


@pytest.mark.req("P11-06")
def test_search_never_shows_another_projects_records(
    api_for: Any, outsider: Identity, catalogue: Catalogue
) -> None:
    api: Api = api_for(outsider)
    for text in ("zeiss", "battery", "cell", "scan"):
        hits = api.get("/api/v1/search", q=text).get_json()["items"]
        assert hits == [], text
    everything = api.get("/api/v1/search").get_json()["items"]
    assert {h["title"] for h in everything} == {"Secret alloy"}


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        "a' OR '1'='1; DROP TABLE projects; --",
        "&&|| !:* <-> ()",
        "電池 セル",
        "батарея",
        "-",
        '""',
        "x" * 500,
    ],
    ids=["quote", "sql", "operators", "japanese", "cyrillic", "minus", "empty-phrase", "long"],
)
def test_hostile_or_foreign_text_gives_results_not_errors(
    api: Api, catalogue: Catalogue, text: str
) -> None:
    response = api.get("/api/v1/search", q=text)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert isinstance(response.get_json()["items"], list)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"q": "x" * 501}, 422, "query.q"),
        ({"kind": "spaceship"}, 422, "query.kind.0"),
        ({"project": "not-an-id"}, 422, "query.project.0"),
        ({"acquired_from": "yesterday"}, 422, "query.acquired_from"),
        ({"sort": "colour"}, 422, "query.sort"),
        ({"limit": "101"}, 422, "query.limit"),
        ({"flavour": "x"}, 422, "query.flavour"),
    ],
)
def test_bad_search_parameters_are_refused_clearly(
    api: Api, params: dict[str, str], status: int, field: str
) -> None:
    response = api.get("/api/v1/search", **params)
    assert response.status_code == status
    assert any(d["field"] == field for d in error_of(response)["details"]), error_of(response)


def test_semantic_refusals_are_a_400(api: Api) -> None:
    backwards = api.get("/api/v1/search", acquired_from="2026-02-01", acquired_to="2026-01-01")
    assert backwards.status_code == 400
    assert "ends before it starts" in error_of(backwards)["message"]
    relevance = api.get("/api/v1/search", sort="relevance")
    assert relevance.status_code == 400
    assert "needs search text" in error_of(relevance)["message"]


def test_search_pages_with_signed_cursors(
    api: Api, catalogue: Catalogue, resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    ctx = resources.service_context(uow, scientist)
    for number in range(5):
        create_sample(ctx, project_name="Battery", name=f"Coupon {number}")
    uow.commit()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kind": "sample", "sort": "name", "limit": "2", "facets": "false"}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/api/v1/search", **params).get_json()
        seen += [h["title"] for h in body["items"]]
        assert body["facets"] == {}
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, key=str.lower)
    assert len(seen) == len(set(seen)) == 6
    first = api.get("/api/v1/search", kind="sample", sort="name", limit="2").get_json()
    tampered = first["next_cursor"][:-2] + "AA"
    refused = api.get("/api/v1/search", kind="sample", sort="name", cursor=tampered)
    assert refused.status_code == 400
    other = api.get("/api/v1/search", kind="dataset", sort="name", cursor=first["next_cursor"])
    assert other.status_code == 400, "a cursor only fits the search it came from"
