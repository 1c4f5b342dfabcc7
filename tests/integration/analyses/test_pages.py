"""Analysis pages and the sign dialog through the real web app (issue 7)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit import AuditEvent
from lims.models import Analysis, Signature
from lims.services import signing
from tests.integration.signatures.conftest import PASSWORD, Lab
from tests.integration.web.conftest import log_in

_FIELD = re.compile(r'name="(csrf_token|nonce|digest)" value="([^"]*)"')


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = log_in(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _dialog(client: FlaskClient, path: str, meaning: str) -> tuple[str, dict[str, str]]:
    page = client.get(f"{path}?meaning={meaning}&next=/analyses")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    return text, dict(_FIELD.findall(text))


def _sign(client: FlaskClient, path: str, meaning: str, **form: str):
    _text, fields = _dialog(client, path, meaning)
    return client.post(path, data={**fields, "meaning": meaning, "next": "/analyses", **form})


def _status(lab: Lab, analysis: Analysis) -> str:
    return lab.uow.session.scalars(select(Analysis.status).where(Analysis.id == analysis.id)).one()


def _signatures(lab: Lab) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(Signature)) or 0


def _create(client: FlaskClient, lab: Lab) -> Analysis:
    page = client.get("/analyses/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/analyses",
        data={
            "csrf_token": token.group(1),
            "project_id": str(lab.project_id),
            "title": "Porosity of cell 7",
            "purpose": "Measure porosity",
            "results": "12.5 %",
            "conclusions": "Within specification",
            "dataset_versions": str(lab.version.id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return lab.uow.session.scalars(select(Analysis)).one()


@pytest.mark.req("P11-20", "P11-26", "P11-27", "A11-18")
def test_author_reviewer_and_qa_sign_through_the_dialog(app: Flask, lab: Lab) -> None:
    author = _client(app, lab.author.username)
    analysis = _create(author, lab)
    path = f"/sign/analysis/{lab.revision_id(analysis)}"

    text, _ = _dialog(author, path, "authored")
    assert "legally binding" in text
    assert 'name="user_id"' in text, "the first signature of a session asks for the user id"
    refused = _sign(author, path, "authored", password=PASSWORD)
    assert refused.status_code == 401
    assert "needs your user id" in refused.get_data(as_text=True)
    wrong = _sign(author, path, "authored", user_id="mcurie", password="wrong password")
    assert wrong.status_code == 401
    assert _signatures(lab) == 0
    signed = _sign(author, path, "authored", user_id="mcurie", password=PASSWORD)
    assert signed.status_code == 302, signed.get_data(as_text=True)
    assert _status(lab, analysis) == "submitted"

    reviewer = _client(app, lab.reviewer.username)
    assert "Porosity of cell 7" in reviewer.get("/analyses/queue").get_data(as_text=True)
    assert (
        _sign(reviewer, path, "reviewed", user_id="rfeynman", password=PASSWORD).status_code == 302
    )
    qa = _client(app, lab.qa.username)
    assert _sign(qa, path, "approved", user_id="lmeitner", password=PASSWORD).status_code == 302

    page = qa.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert "approved" in page
    for name in ("Marie Curie (mcurie)", "Richard Feynman (rfeynman)", "Lise Meitner (lmeitner)"):
        assert name in page
    assert page.count(" UTC</time>") >= 3
    outcomes = lab.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("signature.%"))
    ).all()
    assert outcomes.count("signature.failure") == 1
    assert outcomes.count("signature.refused") == 1
    assert outcomes.count("signature.sign") == 3


@pytest.mark.req("P11-27")
def test_second_signature_of_a_session_needs_only_the_password(app: Flask, lab: Lab) -> None:
    author = _client(app, lab.author.username)
    first = lab.draft("first")
    second = lab.draft("second")
    one = f"/sign/analysis/{lab.revision_id(first)}"
    two = f"/sign/analysis/{lab.revision_id(second)}"
    assert _sign(author, one, "authored", user_id="mcurie", password=PASSWORD).status_code == 302
    text, _ = _dialog(author, two, "authored")
    assert 'name="user_id"' not in text
    assert _sign(author, two, "authored", password=PASSWORD).status_code == 302
    fresh = _client(app, lab.author.username)
    text, _ = _dialog(fresh, two, "authored")
    assert 'name="user_id"' in text, "a new session asks for the user id again"


@pytest.mark.req("P11-22", "P11-26")
def test_replayed_and_forged_sign_requests_are_refused(app: Flask, lab: Lab) -> None:
    author = _client(app, lab.author.username)
    analysis = lab.draft()
    other = lab.draft("another")
    path = f"/sign/analysis/{lab.revision_id(analysis)}"
    _text, fields = _dialog(author, path, "authored")
    form = {**fields, "meaning": "authored", "user_id": "mcurie", "password": PASSWORD}
    forged = author.post(f"/sign/analysis/{lab.revision_id(other)}", data=form)
    assert forged.status_code == 400
    assert "issued for another record" in forged.get_data(as_text=True)
    replay = author.post(path, data=form)
    assert replay.status_code == 400
    assert "already used" in replay.get_data(as_text=True)
    no_nonce = author.post(path, data={**form, "nonce": "made-up"})
    assert no_nonce.status_code == 400
    cookie_only = author.post(path, data={"csrf_token": fields["csrf_token"]})
    assert cookie_only.status_code in {400, 401}
    assert _signatures(lab) == 0
    assert _status(lab, analysis) == "draft"


@pytest.mark.req("P11-14")
def test_admin_and_author_cannot_review(app: Flask, lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    path = f"/sign/analysis/{revision}"
    for who in (lab.admin.username, lab.author.username):
        client = _client(app, who)
        response = _sign(client, path, "reviewed", user_id=who, password=PASSWORD)
        assert response.status_code == 403, who
    assert _status(lab, analysis) == "submitted"
