"""The review workflow of an analysis, end to end through the services (issue 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import AuditEvent
from lims.models import Notification, Signature
from lims.services import signing
from tests.integration.signatures.conftest import PASSWORD, Lab


@pytest.mark.req("P11-20", "A11-18")
def test_author_review_approve_moves_the_analysis_and_signs_each_step(lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)

    authored = signing.sign(
        lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD, "mcurie"
    )
    assert analysis.status == "submitted"
    signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "reviewed", PASSWORD)
    assert analysis.status == "reviewed"
    signing.sign(lab.ctx(lab.qa), "analysis", revision, "approved", PASSWORD)
    assert analysis.status == "approved"

    rows = lab.uow.session.scalars(
        select(Signature).where(Signature.record_id == revision).order_by(Signature.signed_at)
    ).all()
    assert [(r.meaning, r.printed_name) for r in rows] == [
        ("authored", "Marie Curie (mcurie)"),
        ("reviewed", "Richard Feynman (rfeynman)"),
        ("approved", "Lise Meitner (lmeitner)"),
    ]
    assert authored.signed_at.tzinfo is not None
    verdicts = signing.record_signatures(lab.ctx(lab.qa), "analysis", revision)
    assert [v.status for v in verdicts] == ["valid"] * 3
    actions = lab.uow.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("signature.%"))
    ).all()
    assert actions == ["signature.sign"] * 3
    notes = lab.uow.session.scalars(
        select(Notification.subject).where(Notification.user_id == lab.author.user_id)
    ).all()
    assert any("was approved" in n for n in notes)
    assert any("was reviewed" in n for n in notes)
