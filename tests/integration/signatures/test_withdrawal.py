"""Withdrawing a signature (P11-22): one-way, by its signer, audited; the record steps back."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from audit import AuditEvent
from lims.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UserError,
)
from lims.models import Analysis, Signature, SignatureWithdrawal
from lims.services import signature_admin, signature_withdrawal, signing
from reports.signers import signature_lines
from signatures import records
from tests.integration.signatures.conftest import PASSWORD, Lab, assert_refused_for_app_and_owner


def _approved(lab: Lab) -> tuple[Analysis, str, dict[str, Signature]]:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    rows = {
        meaning: signing.sign(lab.ctx(who), "analysis", revision, meaning, PASSWORD)
        for who, meaning in (
            (lab.author, "authored"),
            (lab.reviewer, "reviewed"),
            (lab.qa, "approved"),
        )
    }
    return analysis, revision, rows


def _status(lab: Lab, analysis: Analysis) -> str:
    return lab.uow.session.scalars(select(Analysis.status).where(Analysis.id == analysis.id)).one()


def _withdrawals(lab: Lab) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(SignatureWithdrawal)) or 0


def _actions(lab: Lab, prefix: str) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.action.like(f"{prefix}%"))
    return list(lab.uow.session.scalars(query.order_by(AuditEvent.seq)))


@pytest.mark.req("P11-22")
def test_qa_withdraws_an_approval_and_the_analysis_steps_back_then_is_approved_again(
    lab: Lab,
) -> None:
    analysis, revision, rows = _approved(lab)
    assert _status(lab, analysis) == "approved"

    withdrawal = signature_withdrawal.withdraw(
        lab.ctx(lab.qa), str(rows["approved"].id), PASSWORD, reason="  wrong batch cited  "
    )

    assert (withdrawal.reason, withdrawal.printed_name) == (
        "wrong batch cited",
        "Lise Meitner (lmeitner)",
    )
    assert _status(lab, analysis) == "reviewed"
    verdicts = {
        v.signature.meaning: v
        for v in signing.record_signatures(lab.ctx(lab.author), "analysis", revision)
    }
    assert verdicts["approved"].status == "withdrawn"
    assert not verdicts["approved"].ok
    assert verdicts["approved"].intact
    assert verdicts["approved"].withdrawal is not None
    assert verdicts["approved"].withdrawal.reason == "wrong batch cited"
    assert verdicts["reviewed"].ok
    assert verdicts["authored"].ok
    assert "approved" not in records.signed_by(lab.uow.session, records.ANALYSIS, revision)
    assert lab.uow.session.get(Signature, rows["approved"].id) is not None, "the row stays"
    status_change = lab.uow.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "analysis.status")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert status_change is not None
    assert json.loads(status_change.changes)["status"] == ["approved", "reviewed"]
    assert status_change.reason == "approved signature withdrawn: wrong batch cited"
    assert _actions(lab, "signature.withdraw") == ["signature.withdraw"]

    again = signing.sign(lab.ctx(lab.qa), "analysis", revision, "approved", PASSWORD)
    assert again.id != rows["approved"].id
    assert _status(lab, analysis) == "approved"
    assert all(v.intact for v in signature_admin.verify_every_signature(lab.uow))


@pytest.mark.req("P11-22")
def test_the_author_withdraws_a_submission_and_the_analysis_is_a_draft_again(lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    authored = signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    assert _status(lab, analysis) == "submitted"
    signature_withdrawal.withdraw(
        lab.ctx(lab.author), str(authored.id), PASSWORD, reason="results incomplete"
    )
    assert _status(lab, analysis) == "draft"
    assert signing.allowed_meanings(lab.ctx(lab.author), "analysis", revision) == ["authored"]


@pytest.mark.req("P11-22", "A11-04")
@pytest.mark.parametrize(
    ("who", "which", "password", "reason", "error", "message"),
    [
        ("reviewer", "approved", PASSWORD, "mine?", PermissionDeniedError, "only its signer"),
        ("qa", "approved", "wrong password", "typo", AuthenticationError, "not recorded"),
        ("qa", "approved", PASSWORD, "   ", UserError, "needs a reason"),
        ("qa", "unknown", PASSWORD, "typo", NotFoundError, "no such signature"),
        ("qa", "garbage", PASSWORD, "typo", NotFoundError, "no such signature"),
    ],
)
def test_refused_withdrawals_change_nothing_and_are_audited(
    lab: Lab,
    who: str,
    which: str,
    password: str,
    reason: str,
    error: type[Exception],
    message: str,
) -> None:
    analysis, _revision, rows = _approved(lab)
    target = {"unknown": str(uuid.uuid4()), "garbage": "not-a-uuid"}.get(which)
    signature_id = target or str(rows[which].id)
    with pytest.raises(error, match=message):
        signature_withdrawal.withdraw(
            lab.ctx(getattr(lab, who)), signature_id, password, reason=reason
        )
    assert _withdrawals(lab) == 0
    assert _status(lab, analysis) == "approved"
    refusals = _actions(lab, "signature.refused") + _actions(lab, "signature.failure")
    assert len(refusals) == 1


@pytest.mark.req("P11-22")
def test_a_signature_is_withdrawn_once_and_a_rejection_not_at_all(lab: Lab) -> None:
    _analysis, _revision, rows = _approved(lab)
    qa = lab.ctx(lab.qa)
    signature_withdrawal.withdraw(qa, str(rows["approved"].id), PASSWORD, reason="first")
    with pytest.raises(ConflictError, match="already been withdrawn"):
        signature_withdrawal.withdraw(qa, str(rows["approved"].id), PASSWORD, reason="second")
    assert _withdrawals(lab) == 1

    sent_back = lab.draft("Density")
    revision = lab.revision_id(sent_back)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    rejection = signing.sign(
        lab.ctx(lab.reviewer), "analysis", revision, "rejected", PASSWORD, reason="units"
    )
    with pytest.raises(ConflictError, match="rejection cannot be withdrawn"):
        signature_withdrawal.withdraw(
            lab.ctx(lab.reviewer), str(rejection.id), PASSWORD, reason="oops"
        )
    assert _withdrawals(lab) == 1


@pytest.mark.req("P11-22")
def test_withdrawal_rows_refuse_update_and_delete_for_app_and_owner(lab: Lab) -> None:
    _analysis, _revision, rows = _approved(lab)
    signature_withdrawal.withdraw(
        lab.ctx(lab.qa), str(rows["approved"].id), PASSWORD, reason="wrong batch"
    )
    assert_refused_for_app_and_owner(
        lab.uow.session,
        (
            "UPDATE signature_withdrawals SET reason = 'nothing happened'",
            "DELETE FROM signature_withdrawals",
        ),
    )
    assert _withdrawals(lab) == 1


@pytest.mark.req("P11-20", "P11-22")
def test_reports_print_a_withdrawn_signature_with_its_withdrawal(lab: Lab) -> None:
    _analysis, revision, rows = _approved(lab)
    signature_withdrawal.withdraw(
        lab.ctx(lab.qa), str(rows["approved"].id), PASSWORD, reason="wrong batch"
    )
    lines = {line.meaning: line for line in signature_lines(lab.uow.session, "analysis", revision)}
    assert lines["reviewed"].withdrawn == ""
    withdrawn = lines["approved"].withdrawn
    assert withdrawn.endswith("by Lise Meitner (lmeitner): wrong batch")
    assert "UTC" in withdrawn or "+00:00" in withdrawn
