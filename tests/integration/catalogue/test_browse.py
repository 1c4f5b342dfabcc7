"""Catalogue browsing: grid and table, filters, sort, keyset pages, bad input, access."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.services.context import ServiceContext
from tests.factories import make_user
from tests.integration.search.conftest import Catalogue
from tests.integration.web.conftest import log_in

_LINK = re.compile(r'href="(/catalogue\?[^"]*cursor=[^"]+)"')


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/datasets/[0-9a-f-]{36}">([^<]+)</a>', html)


@pytest.mark.parametrize("view", ["grid", "table"])
def test_grid_and_table_list_the_datasets(
    logged_in: FlaskClient, data: Catalogue, view: str
) -> None:
    page = logged_in.get(f"/catalogue?view={view}&sort=name")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _names(html) == ["cell 7 cycle 100", "femur raw scan", "tibia overview"]
    assert "3 datasets" in html
    assert "Zeiss Versa 620" in html  # facet (and table column)


def test_filters_narrow_the_list(logged_in: FlaskClient, data: Catalogue) -> None:
    def names(query: str) -> list[str]:
        return _names(logged_in.get("/catalogue?sort=name&" + query).get_data(as_text=True))

    assert names("modality=CT+volume") == ["cell 7 cycle 100", "femur raw scan"]
    assert names(f"project={data.bone}") == ["femur raw scan", "tibia overview"]
    assert names(f"sample={data.tibia}") == ["tibia overview"]
    assert names("operator=Pierre+Curie") == ["tibia overview"]
    assert names("instrument=Zeiss+Versa+620&from=2025-01-01") == ["femur raw scan"]
    assert names("tag=reference") == ["tibia overview"]
    assert names("q=LiPF6") == ["cell 7 cycle 100"]


def test_keyset_pages(logged_in: FlaskClient, data: Catalogue) -> None:
    html = logged_in.get("/catalogue?sort=acquired&limit=2&view=table").get_data(as_text=True)
    assert _names(html) == ["tibia overview", "femur raw scan"]
    link = _LINK.search(html)
    assert link is not None
    second = logged_in.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _names(second) == ["cell 7 cycle 100"]
    assert _LINK.search(second) is None


@pytest.mark.parametrize(
    "query",
    ["view=cards", "sort=price", "project=1", "cursor=x.y", "to=2025-02-30", "limit=1000"],
    ids=["view", "sort", "project", "cursor", "date", "limit"],
)
def test_bad_input_is_a_400_with_the_reason(
    logged_in: FlaskClient, data: Catalogue, query: str
) -> None:
    page = logged_in.get("/catalogue?" + query)
    assert page.status_code == 400
    assert 'role="alert"' in page.get_data(as_text=True)


@pytest.mark.req("P11-06")
def test_catalogue_shows_only_visible_projects(app: Flask, data: Catalogue, uow) -> None:
    from lims.auth.roles import Role

    make_user(uow, "guest", roles=set(), project_roles={data.battery: {Role.VIEWER}})
    client = app.test_client()
    assert log_in(client, "guest").status_code == 302
    html = client.get("/catalogue?sort=name").get_data(as_text=True)
    assert _names(html) == ["cell 7 cycle 100"]
    assert "Bone study" not in html
    assert (
        client.get(f"/catalogue?project={data.bone}").get_data(as_text=True).count("/datasets/")
        == 0
    )
    assert client.get(f"/datasets/{data.datasets['femur_raw']}").status_code == 404


@pytest.mark.req("P11-06")
def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    for path in ("/catalogue", "/search?q=x", "/search/saved/00000000-0000-0000-0000-000000000000"):
        response = client.get(path)
        assert response.status_code in {302, 401}
        assert "/login" in response.location


def test_retired_datasets_on_request(
    logged_in: FlaskClient, ctx: ServiceContext, data: Catalogue
) -> None:
    from lims.services import changes

    changes.retire(ctx, "dataset", data.datasets["tibia_raw"], reason="duplicate")
    ctx.uow.commit()
    assert "tibia overview" not in _names(logged_in.get("/catalogue").get_data(as_text=True))
    shown = logged_in.get("/catalogue?retired=1").get_data(as_text=True)
    assert "tibia overview" in _names(shown)
