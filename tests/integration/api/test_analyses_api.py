"""Analyses and signatures through the API: read only, verified now, access-checked."""

from __future__ import annotations

from typing import Any

import pytest

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.runtime.resources import Resources
from lims.services import analyses, signing
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.api.conftest import Api, Catalogue, error_of


@pytest.fixture
def signed_analysis(
    resources: Resources, uow: UnitOfWork, scientist: Identity, catalogue: Catalogue
) -> str:
    ctx = resources.service_context(uow, scientist)
    analysis = analyses.create_analysis(
        ctx,
        project_id=catalogue.project_id,
        title="Porosity of cell 7",
        results="12.5 % porosity",
        dataset_versions=[catalogue.version.id],
    )
    uow.commit()
    revision = analyses.current_revision(ctx, analysis)
    signing.sign(
        ctx, "analysis", str(revision.id), "authored", DEFAULT_PASSWORD, scientist.username
    )
    verifier = make_user(uow, "verifier", roles={Role.MICROSCOPIST})
    signing.sign(
        resources.service_context(uow, verifier),
        "dataset_version",
        str(catalogue.version.id),
        "verified",
        DEFAULT_PASSWORD,
    )
    return str(analysis.id)


@pytest.mark.req("A11-11")
def test_analysis_with_revisions_and_verified_signatures(
    api: Api, signed_analysis: str, scientist: Identity, catalogue: Catalogue
) -> None:
    listed = api.get("/api/v1/analyses").get_json()["items"]
    assert [a["id"] for a in listed] == [signed_analysis]
    analysis = api.get(f"/api/v1/analyses/{signed_analysis}").get_json()
    assert analysis["status"] == "submitted"
    assert analysis["revisions"][-1]["title"] == "Porosity of cell 7"
    assert len(analysis["revisions"][-1]["content_sha256"]) == 64
    signatures = api.get(analysis["signatures_url"]).get_json()["items"]
    assert [(s["meaning"], s["status"]) for s in signatures] == [("authored", "valid")]
    assert signatures[0]["printed_name"] == scientist.printed_name
    assert signatures[0]["record_id"] == analysis["revisions"][-1]["id"]
    version = api.get(f"/api/v1/versions/{catalogue.version.id}/signatures").get_json()
    assert [s["meaning"] for s in version["items"]] == ["verified"]


@pytest.mark.req("P11-06")
def test_an_outsider_sees_neither_analyses_nor_signatures(
    api_for: Any, outsider: Identity, signed_analysis: str, catalogue: Catalogue
) -> None:
    api: Api = api_for(outsider)
    assert api.get("/api/v1/analyses").get_json()["items"] == []
    for path in (
        f"/api/v1/analyses/{signed_analysis}",
        f"/api/v1/analyses/{signed_analysis}/signatures",
        f"/api/v1/versions/{catalogue.version.id}/signatures",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_there_is_no_way_to_sign_with_a_token(api: Api, signed_analysis: str) -> None:
    response = api.post(f"/api/v1/analyses/{signed_analysis}/signatures", json={})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
