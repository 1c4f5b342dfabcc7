"""Every bad sign request is refused with a clear message; only its audit event is kept."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.roles import Role
from lims.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UserError,
)
from lims.models import Analysis, AnalysisRevision, Signature, User
from lims.services import analyses, analysis_review, signer_checks, signing
from signatures.statement import STATEMENT_SHA256
from tests.factories import make_user
from tests.integration.signatures.conftest import PASSWORD, Lab


def _count(lab: Lab) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(Signature)) or 0


def _last_event(lab: Lab) -> AuditEvent:
    return lab.uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def _submitted(lab: Lab) -> tuple[Analysis, str]:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    return analysis, revision


@pytest.mark.req("P11-26", "P11-32")
def test_wrong_password_is_refused_audited_and_counts_toward_lockout(lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    with pytest.raises(AuthenticationError, match="signature not recorded: wrong user name"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", "not my password")
    assert _count(lab) == 0
    assert analysis.status == "draft"
    user = lab.uow.session.get(User, lab.author.user_id)
    assert user is not None
    assert user.failed_logins == 1
    event = _last_event(lab)
    assert (event.action, event.object_type, event.object_id) == (
        "signature.failure",
        "analysis",
        revision,
    )


@pytest.mark.req("P11-26", "P11-32")
def test_repeated_wrong_signing_passwords_lock_the_account(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    for _ in range(lab.resources.settings.lockout_threshold):
        with pytest.raises(AuthenticationError):
            signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", "guess")
    with pytest.raises(AuthenticationError, match="locked"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    assert _count(lab) == 0


@pytest.mark.req("P11-26", "P11-14")
def test_a_signature_for_someone_else_is_refused(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    with pytest.raises(PermissionDeniedError, match="only sign as yourself"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD, "rfeynman")
    assert _count(lab) == 0
    assert _last_event(lab).action == "signature.refused"


@pytest.mark.req("P11-27")
def test_first_signature_of_a_session_needs_the_user_id(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    with pytest.raises(AuthenticationError, match="needs your user id"):
        signing.sign(
            lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD, user_id_required=True
        )
    assert _count(lab) == 0
    signing.sign(
        lab.ctx(lab.author),
        "analysis",
        revision,
        "authored",
        PASSWORD,
        " MCurie ",
        user_id_required=True,
    )
    assert _count(lab) == 1


@pytest.mark.req("P11-14", "A11-18")
def test_author_and_admin_cannot_review_and_reviewer_cannot_also_approve(lab: Lab) -> None:
    analysis, revision = _submitted(lab)
    for who in (lab.author, lab.admin):
        with pytest.raises(PermissionDeniedError):
            signing.sign(lab.ctx(who), "analysis", revision, "reviewed", PASSWORD)
    signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "reviewed", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="reviewer of an analysis may not also"):
        signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "approved", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="not allowed to approve"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "approved", PASSWORD)
    assert analysis.status == "reviewed"
    assert _count(lab) == 2


@pytest.mark.req("P11-14")
def test_an_author_who_is_also_a_reviewer_cannot_review_their_own_analysis(lab: Lab) -> None:
    both = make_user(lab.uow, "dual", roles={Role.MICROSCOPIST, Role.REVIEWER})
    analysis = analyses.create_analysis(lab.ctx(both), project_id=lab.project_id, title="Mine")
    lab.uow.commit()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(both), "analysis", revision, "authored", PASSWORD)
    for meaning in ("reviewed", "rejected"):
        with pytest.raises(PermissionDeniedError, match="their own analysis"):
            signing.sign(lab.ctx(both), "analysis", revision, meaning, PASSWORD, reason="x")
    assert analysis_review.review_queue(lab.ctx(both)) == []
    assert analysis.status == "submitted"


@pytest.mark.req("A11-18")
def test_a_microscopist_cannot_review_or_approve(lab: Lab) -> None:
    other = make_user(lab.uow, "wroentgen", display_name="Wilhelm Röntgen")
    _, revision = _submitted(lab)
    with pytest.raises(PermissionDeniedError, match="not allowed to review"):
        signing.sign(lab.ctx(other), "analysis", revision, "reviewed", PASSWORD)
    assert _count(lab) == 1


def test_signing_in_a_state_that_does_not_allow_it_is_a_conflict(lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    with pytest.raises(ConflictError, match="must be submitted to be signed reviewed"):
        signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "reviewed", PASSWORD)
    with pytest.raises(ConflictError, match="must be reviewed to be signed approved"):
        signing.sign(lab.ctx(lab.qa), "analysis", revision, "approved", PASSWORD)
    with pytest.raises(ConflictError, match="draft analysis cannot be rejected"):
        signing.sign(lab.ctx(lab.qa), "analysis", revision, "rejected", PASSWORD, reason="no")
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    with pytest.raises(ConflictError, match="submitted; it must be draft"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    assert _count(lab) == 1
    assert _last_event(lab).action == "signature.refused"


def test_a_rejection_needs_a_reason_and_meanings_are_a_controlled_list(lab: Lab) -> None:
    _, revision = _submitted(lab)
    with pytest.raises(UserError, match="rejection needs a reason"):
        signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "rejected", PASSWORD, reason=" ")
    with pytest.raises(UserError, match="can be signed as"):
        signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "verified", PASSWORD)
    with pytest.raises(UserError, match="can be signed as"):
        signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "", PASSWORD)
    with pytest.raises(UserError, match="cannot be signed"):
        signing.sign(lab.ctx(lab.reviewer), "invoice", revision, "reviewed", PASSWORD)
    with pytest.raises(NotFoundError):
        signing.sign(lab.ctx(lab.reviewer), "analysis", "not-an-id", "reviewed", PASSWORD)
    assert _count(lab) == 1


@pytest.mark.req("P11-22")
def test_a_stale_digest_is_a_conflict(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    with pytest.raises(ConflictError, match="changed after you opened it"):
        signing.sign(
            lab.ctx(lab.author),
            "analysis",
            revision,
            "authored",
            PASSWORD,
            expected_digest="0" * 64,
        )
    assert _count(lab) == 0


@pytest.mark.req("P11-28")
def test_an_api_token_cannot_sign(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    token_identity = dataclasses.replace(lab.author, via_token=True)
    with pytest.raises(PermissionDeniedError, match="API token cannot sign"):
        signing.sign(lab.ctx(token_identity), "analysis", revision, "authored", PASSWORD)
    assert _count(lab) == 0


@pytest.mark.req("P11-29")
def test_a_one_time_password_cannot_sign(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    user = lab.uow.session.get(User, lab.author.user_id)
    assert user is not None
    user.must_change_password = True
    lab.uow.commit()
    with pytest.raises(PermissionDeniedError, match="set your own password"):
        signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    assert _count(lab) == 0


def test_a_superseded_revision_cannot_be_signed(lab: Lab) -> None:
    analysis = lab.draft()
    old = lab.revision_id(analysis)
    analyses.edit_analysis(
        lab.ctx(lab.author),
        analysis.id,
        title="Porosity of cell 7",
        purpose="Measure porosity",
        results="Porosity 12.6 %",
        conclusions="Within specification",
        dataset_versions=[lab.version.id],
        runs=[],
        reason="typo in the result",
    )
    lab.uow.commit()
    with pytest.raises(ConflictError, match="superseded"):
        signing.sign(lab.ctx(lab.author), "analysis", old, "authored", PASSWORD)
    assert analysis.current_revision == 2
    revisions = lab.uow.session.scalars(
        select(AnalysisRevision.results).where(AnalysisRevision.analysis_id == analysis.id)
    ).all()
    assert sorted(revisions) == ["Porosity 12.5 %", "Porosity 12.6 %"]


def test_bad_analysis_input_is_refused_and_changes_nothing(lab: Lab) -> None:
    ctx = lab.ctx(lab.author)
    before = lab.uow.session.scalar(select(func.count()).select_from(Analysis))
    cases = [
        ({"title": "  "}, "needs a title"),
        ({"title": "x" * 301}, "longer than 300"),
        ({"dataset_versions": [lab.project_id]}, "no dataset version"),
        ({"runs": [lab.project_id]}, "no run"),
    ]
    for change, message in cases:
        fields = {"project_id": lab.project_id, "title": "ok", **change}
        with pytest.raises(UserError, match=message):
            analyses.create_analysis(ctx, **fields)  # type: ignore[arg-type]
        lab.uow.rollback()
    with pytest.raises(PermissionDeniedError):
        analyses.create_analysis(lab.ctx(lab.reviewer), project_id=lab.project_id, title="t")
    lab.uow.rollback()
    assert lab.uow.session.scalar(select(func.count()).select_from(Analysis)) == before
    analysis = lab.draft()
    with pytest.raises(PermissionDeniedError, match="only the author"):
        analyses.edit_analysis(
            lab.ctx(lab.reviewer),
            analysis.id,
            title="mine now",
            purpose="",
            results="",
            conclusions="",
            dataset_versions=[],
            runs=[],
        )


@pytest.mark.req("P11-17")
def test_signing_is_blocked_until_the_statement_is_acknowledged(lab: Lab) -> None:
    revision = lab.revision_id(lab.draft())
    ctx = lab.ctx(lab.author)
    with pytest.raises(PermissionDeniedError, match="acknowledge the signature-accountability"):
        signing.sign(ctx, "analysis", revision, "authored", PASSWORD, require_acknowledgement=True)
    with pytest.raises(UserError, match="statement changed"):
        signing.sign(
            ctx,
            "analysis",
            revision,
            "authored",
            PASSWORD,
            require_acknowledgement=True,
            acknowledge_statement="0" * 64,
        )
    assert _count(lab) == 0
    assert not signer_checks.has_acknowledged(ctx)
    signing.sign(
        ctx,
        "analysis",
        revision,
        "authored",
        PASSWORD,
        require_acknowledgement=True,
        acknowledge_statement=STATEMENT_SHA256,
    )
    assert signer_checks.has_acknowledged(ctx)
    assert _count(lab) == 1
