"""Analysis pages and the sign dialog through the real web app (issue 7)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.roles import Role
from lims.models import Analysis, Signature
from lims.services import catalogue, signing
from lims.web.analyses.signing import EPOCH_KEY, EPOCH_MAX_S
from signatures.statement import STATEMENT_SHA256
from tests.factories import make_user
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
    data = {"acknowledge": STATEMENT_SHA256, **fields, "meaning": meaning, "next": "/analyses"}
    return client.post(path, data={**data, **form})


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
    assert cookie_only.status_code == 401
    assert "needs your password" in cookie_only.get_data(as_text=True)
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


@pytest.mark.req("P11-27")
def test_after_the_signing_epoch_lapses_the_user_id_is_asked_again(app: Flask, lab: Lab) -> None:
    author = _client(app, lab.author.username)
    first = lab.draft("first")
    second = lab.draft("second")
    one = f"/sign/analysis/{lab.revision_id(first)}"
    assert _sign(author, one, "authored", user_id="mcurie", password=PASSWORD).status_code == 302
    with author.session_transaction() as session:
        session[EPOCH_KEY] = time.time() - EPOCH_MAX_S - 1
    text, _ = _dialog(author, f"/sign/analysis/{lab.revision_id(second)}", "authored")
    assert 'name="user_id"' in text


@pytest.mark.req("A11-18")
def test_rejecting_in_the_browser_needs_a_reason(app: Flask, lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    reviewer = _client(app, lab.reviewer.username)
    path = f"/sign/analysis/{revision}"
    text, _ = _dialog(reviewer, path, "rejected")
    assert 'name="reason"' in text
    no_reason = _sign(reviewer, path, "rejected", user_id="rfeynman", password=PASSWORD)
    assert no_reason.status_code == 400
    assert "rejection needs a reason" in no_reason.get_data(as_text=True)
    assert _status(lab, analysis) == "submitted"
    done = _sign(
        reviewer, path, "rejected", user_id="rfeynman", password=PASSWORD, reason="threshold?"
    )
    assert done.status_code == 302
    assert _status(lab, analysis) == "draft"
    author = _client(app, lab.author.username)
    page = author.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert "sent back: threshold?" in page
    assert "Signatures of revision 1 (superseded" in page
    assert "Edit draft" in page


def test_the_editor_refuses_bad_input_with_a_message(app: Flask, lab: Lab) -> None:
    author = _client(app, lab.author.username)
    page = author.get("/analyses/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    base = {"csrf_token": token.group(1), "project_id": str(lab.project_id), "title": "T"}
    cases = [
        ({"title": " "}, 400, "needs a title"),
        ({"project_id": "nope"}, 400, "choose a project"),
        ({"dataset_versions": "not-an-id"}, 400, "is not a record id"),
        ({"runs": str(lab.version.id)}, 400, "no run"),
    ]
    for change, status, message in cases:
        response = author.post("/analyses", data={**base, **change})
        assert response.status_code == status, change
        assert message in response.get_data(as_text=True)
    reviewer = _client(app, lab.reviewer.username)
    own = re.search(
        r'name="csrf_token" value="([^"]+)"', reviewer.get("/analyses/new").get_data(as_text=True)
    )
    assert own
    refused = reviewer.post("/analyses", data={**base, "csrf_token": own.group(1)})
    assert refused.status_code == 403
    assert lab.uow.session.scalar(select(func.count()).select_from(Analysis)) == 0


@pytest.mark.req("P11-20", "P11-21")
def test_the_version_page_shows_its_signatures_and_offers_verification(
    app: Flask, lab: Lab
) -> None:
    reviewer = _client(app, lab.reviewer.username)
    page = reviewer.get(f"/versions/{lab.version.id}").get_data(as_text=True)
    assert "Not signed yet" in page
    assert "Sign as verified" in page
    path = f"/sign/dataset_version/{lab.version.id}"
    assert (
        _sign(reviewer, path, "verified", user_id="rfeynman", password=PASSWORD).status_code == 302
    )
    author = _client(app, lab.author.username)
    page = author.get(f"/versions/{lab.version.id}").get_data(as_text=True)
    assert "Richard Feynman (rfeynman)" in page
    assert "verified" in page
    assert "Sign as verified" not in page, "the author may not verify their own version"


TEMPLATES = Path(__file__).parents[3] / "lims" / "web"


@pytest.mark.req("P11-21")
@pytest.mark.parametrize(
    "template",
    [
        "analyses/templates/analyses/analysis.html",
        "catalogue/templates/catalogue/version.html",
        "runs/templates/runs/run.html",
    ],
)
def test_every_page_of_a_signable_record_includes_the_manifestation_block(template: str) -> None:
    assert "signature_panel(" in (TEMPLATES / template).read_text()


@pytest.mark.req("P11-17")
def test_the_first_signature_needs_the_accountability_statement_acknowledged(
    app: Flask, lab: Lab
) -> None:
    author = _client(app, lab.author.username)
    first = lab.draft("first")
    path = f"/sign/analysis/{lab.revision_id(first)}"
    text, _ = _dialog(author, path, "authored")
    assert "I am accountable and responsible" in text
    refused = _sign(author, path, "authored", user_id="mcurie", password=PASSWORD, acknowledge="")
    assert refused.status_code == 403
    assert "acknowledge the signature-accountability statement" in refused.get_data(as_text=True)
    assert _signatures(lab) == 0
    assert _sign(author, path, "authored", user_id="mcurie", password=PASSWORD).status_code == 302
    event = lab.uow.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signature.acknowledge")
    ).one()
    assert (event.actor_id, event.object_id) == (lab.author.user_id, STATEMENT_SHA256)
    assert event.occurred_at.tzinfo is not None
    second = lab.draft("second")
    text, _ = _dialog(author, f"/sign/analysis/{lab.revision_id(second)}", "authored")
    assert "I am accountable and responsible" not in text


@pytest.mark.req("P11-22", "A11-18")
def test_a_reviewer_whose_dialog_went_stale_gets_a_conflict(app: Flask, lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    path = f"/sign/analysis/{revision}"
    late = _client(app, lab.qa.username)
    _text, stale = _dialog(late, path, "reviewed")
    first = _client(app, lab.reviewer.username)
    assert _sign(first, path, "reviewed", user_id="rfeynman", password=PASSWORD).status_code == 302
    form = {**stale, "meaning": "reviewed", "user_id": "lmeitner", "password": PASSWORD}
    response = late.post(path, data={**form, "acknowledge": STATEMENT_SHA256})
    assert response.status_code == 409
    assert "this analysis is reviewed" in response.get_data(as_text=True)
    assert _status(lab, analysis) == "reviewed"


def test_the_sign_dialog_of_another_projects_record_is_not_found(app: Flask, lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    other = catalogue.create_project(lab.ctx(lab.admin), name="Other lab")
    lab.uow.commit()
    make_user(lab.uow, "outsider", roles=set(), project_roles={other.id: {Role.REVIEWER}})
    client = _client(app, "outsider")
    for path in (f"/sign/analysis/{revision}", f"/sign/dataset_version/{lab.version.id}"):
        response = client.get(f"{path}?meaning=reviewed")
        assert response.status_code == 404, response.status_code
        assert "Porosity" not in response.get_data(as_text=True)
        assert "scan-001" not in response.get_data(as_text=True)
    assert client.get(f"/analyses/{lab.draft('second').id}").status_code == 404


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example"])
def test_the_sign_dialog_returns_only_to_pages_of_this_site(
    app: Flask, lab: Lab, target: str
) -> None:
    author = _client(app, lab.author.username)
    path = f"/sign/analysis/{lab.revision_id(lab.draft())}"
    signed = _sign(author, path, "authored", user_id="mcurie", password=PASSWORD, next=target)
    assert signed.status_code == 302
    assert signed.headers["Location"] == "/"


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.req("P11-22")
def test_the_signer_withdraws_a_signature_from_the_record_page(app: Flask, lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    for who, meaning in (
        (lab.author, "authored"),
        (lab.reviewer, "reviewed"),
        (lab.qa, "approved"),
    ):
        signing.sign(lab.ctx(who), "analysis", revision, meaning, PASSWORD)
    approval = lab.uow.session.scalars(
        select(Signature.id).where(Signature.meaning == "approved")
    ).one()
    dialog = f"/signatures/{approval}/withdraw"

    reviewer = _client(app, lab.reviewer.username)
    assert dialog not in reviewer.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert reviewer.get(dialog).status_code == 403

    qa = _client(app, lab.qa.username)
    page = qa.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert f"{dialog}?next=" in page, "the signer is offered the withdrawal of their signature"
    form = qa.get(f"{dialog}?next=/analyses/{analysis.id}").get_data(as_text=True)
    assert "Withdrawing it is final" in form
    assert 'name="user_id"' in form
    token = _CSRF.search(form)
    assert token
    data = {"csrf_token": token.group(1), "next": f"/analyses/{analysis.id}"}
    wrong = qa.post(dialog, data={**data, "reason": "typo", "user_id": "lmeitner", "password": "x"})
    assert wrong.status_code == 401
    assert "withdrawal not recorded" in wrong.get_data(as_text=True)
    no_reason = qa.post(dialog, data={**data, "user_id": "lmeitner", "password": PASSWORD})
    assert no_reason.status_code == 400
    assert _status(lab, analysis) == "approved"

    done = qa.post(
        dialog,
        data={
            **data,
            "reason": "cited the wrong batch",
            "user_id": "lmeitner",
            "password": PASSWORD,
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert done.headers["Location"] == f"/analyses/{analysis.id}"
    assert _status(lab, analysis) == "reviewed"
    page = qa.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert "WITHDRAWN" in page
    assert "cited the wrong batch" in page
    assert qa.get(dialog).status_code == 409, "a withdrawal is one-way"
