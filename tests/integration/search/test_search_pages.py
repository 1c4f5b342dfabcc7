"""The search page: results, highlights, facets, bad input as 400, saved searches."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.services import changes
from lims.services.context import ServiceContext
from tests.factories import make_user
from tests.integration.search.conftest import Catalogue
from tests.integration.web.conftest import csrf_token, log_in


def test_search_page_shows_ranked_highlighted_results(
    logged_in: FlaskClient, data: Catalogue
) -> None:
    page = logged_in.get("/search?q=condyle")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "femur raw scan" in html
    assert "<mark>condyle</mark>" in html
    assert f'href="/datasets/{data.datasets["femur_raw"]}"' in html


def test_header_box_is_on_every_page(logged_in: FlaskClient, data: Catalogue) -> None:
    for path in ("/", f"/datasets/{data.datasets['femur_raw']}", "/runs"):
        html = logged_in.get(path).get_data(as_text=True)
        assert 'class="header-search"' in html, path


def test_facets_link_to_filtered_results(logged_in: FlaskClient, data: Catalogue) -> None:
    html = logged_in.get("/search?kind=dataset").get_data(as_text=True)
    assert "Zeiss Versa 620" in html
    assert "modality=CT+volume" in html
    filtered = logged_in.get("/search?kind=dataset&modality=2D+mosaic").get_data(as_text=True)
    assert "tibia overview" in filtered
    assert "femur raw scan" not in filtered


def test_snippets_escape_html(logged_in: FlaskClient, ctx: ServiceContext, data: Catalogue) -> None:
    changes.add_note(ctx, "dataset", data.datasets["cell_ct"], "<script>alert(1)</script> zzmarker")
    ctx.uow.commit()
    html = logged_in.get("/search?q=zzmarker").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "<mark>zzmarker</mark>" in html


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "x" * 501,
        "project=nope",
        "from=yesterday",
        "sort=DROP",
        "cursor=abc",
        "limit=0",
        "kind=secrets",
    ],
    ids=["long", "project", "date", "sort", "cursor", "limit", "kind"],
)
def test_bad_input_is_a_clear_400(logged_in: FlaskClient, data: Catalogue, query: str) -> None:
    page = logged_in.get("/search?" + query)
    assert page.status_code == 400
    assert 'role="alert"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "text",
    ["' OR 1=1 --", '"femur', "骨 ελληνικά", "a & | ! <-> :*", "%_\\"],
    ids=["sql", "quote", "alphabets", "operators", "wildcards"],
)
def test_odd_text_never_fails(logged_in: FlaskClient, data: Catalogue, text: str) -> None:
    assert logged_in.get("/search?q=" + quote(text)).status_code == 200


def test_saved_searches_belong_to_their_user(
    app: Flask, logged_in: FlaskClient, data: Catalogue
) -> None:
    token = csrf_token(logged_in, "/search?q=femur")
    saved = logged_in.post(
        "/search/saved",
        data={"name": "Femurs", "query": "q=femur&kind=dataset", "csrf_token": token},
    )
    assert saved.status_code == 302
    opened = logged_in.get(saved.location)
    assert opened.status_code == 302
    assert "q=femur" in opened.location
    assert "Femurs" in logged_in.get("/search").get_data(as_text=True)
    duplicate = logged_in.post(
        "/search/saved", data={"name": "femurs", "query": "q=x", "csrf_token": token}
    )
    assert duplicate.status_code == 302
    assert "already have" in logged_in.get(duplicate.location).get_data(as_text=True)
    bad = logged_in.post(
        "/search/saved", data={"name": "Bad", "query": "from=never", "csrf_token": token}
    )
    assert "not saved" in logged_in.get(bad.location).get_data(as_text=True)
    other = app.test_client()
    resources = app.extensions["ctvault"]
    with resources.unit_of_work() as uow:
        make_user(uow, "other")
    assert log_in(other, "other").status_code == 302
    assert "Femurs" not in other.get("/search").get_data(as_text=True)
    assert other.get(saved.location).status_code == 404


def test_a_corrected_search_says_so(logged_in: FlaskClient, data: Catalogue) -> None:
    html = logged_in.get("/search?q=femr").get_data(as_text=True)
    assert "showing results for <strong>femur</strong>" in html
    assert "femur raw scan" in html


def test_a_capped_search_says_what_its_counts_cover(
    logged_in: FlaskClient, data: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lims.services import search as search_module

    monkeypatch.setattr(search_module, "MATCH_CAP", 2)
    page = logged_in.get("/search?q=curie").get_data(as_text=True)
    assert "2+ results" in page
    assert "Counts and ranking cover the first 2 matches" in page
    narrow = logged_in.get("/search?q=condyle").get_data(as_text=True)
    assert "1 result" in narrow
    assert "Counts and ranking cover" not in narrow
