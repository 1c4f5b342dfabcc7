"""Signature and review state: filters and facets follow signatures and analyses as they land."""

from __future__ import annotations

from lims.services import analyses, signing
from lims.services.search import request_from_params, search
from tests.integration.signatures.conftest import PASSWORD, Lab, lab  # noqa: F401 - fixture


def _states(found: Lab, **params: list[str]) -> list[tuple[str, str | None, str | None]]:
    page = search(found.ctx(found.qa), request_from_params({"kind": ["dataset"], **params}))
    return [(hit.title, hit.signature_state, hit.review_state) for hit in page.hits]


def test_signature_and_review_state_of_a_dataset(lab: Lab) -> None:  # noqa: F811 - fixture
    name = lab.version.dataset.name
    assert _states(lab) == [(name, "unsigned", "none")]
    analysis = analyses.create_analysis(
        lab.ctx(lab.author),
        project_id=lab.project_id,
        title="Porosity of the femur",
        conclusions="Trabecular porosity within the expected range.",
        dataset_versions=[lab.version.id],
    )
    assert _states(lab, review=["draft"]) == [(name, "unsigned", "draft")]
    assert _states(lab, review=["approved"]) == []
    signing.sign(
        lab.ctx(lab.reviewer), "dataset_version", str(lab.version.id), "verified", PASSWORD
    )
    assert _states(lab, signature=["verified"]) == [(name, "verified", "draft")]
    assert _states(lab, signature=["unsigned"]) == []
    page = search(lab.ctx(lab.qa), request_from_params({"q": ["trabecular"]}))
    assert [(hit.kind, hit.id) for hit in page.hits] == [("analysis", analysis.id)]
    facets = search(lab.ctx(lab.qa), request_from_params({"kind": ["dataset"]})).facets
    assert [(f.value, f.count) for f in facets["signature"]] == [("verified", 1)]
    assert [(f.value, f.count) for f in facets["review"]] == [("draft", 1)]
