"""Rejection sends an analysis back as a new revision; the author hears of every decision."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lims.models import AnalysisRevision, Notification, Signature, User
from lims.services import analyses, analysis_review, signing
from tests.conftest import MailSink
from tests.integration.signatures.conftest import PASSWORD, Lab


@pytest.mark.req("P11-20", "A11-18")
def test_rejection_at_review_makes_a_new_draft_revision_and_tells_the_author(
    lab: Lab, mailbox: MailSink
) -> None:
    user = lab.uow.session.get(User, lab.author.user_id)
    assert user is not None
    user.email = "marie@lab.example"
    lab.uow.commit()
    analysis = lab.draft()
    first = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", first, "authored", PASSWORD)

    signing.sign(
        lab.ctx(lab.reviewer),
        "analysis",
        first,
        "rejected",
        PASSWORD,
        reason="porosity threshold not justified",
    )

    assert (analysis.status, analysis.current_revision) == ("draft", 2)
    second = analyses.current_revision(lab.ctx(lab.author), analysis)
    assert second.reason == "sent back: porosity threshold not justified"
    assert second.results == "Porosity 12.5 %"
    assert signing.preview(lab.ctx(lab.author), "analysis", str(second.id)).digest == (
        second.content_sha256
    )
    rejected = lab.uow.session.scalars(
        select(Signature).where(Signature.meaning == "rejected")
    ).one()
    assert rejected.record_id == first
    assert rejected.reason == "porosity threshold not justified"
    note = lab.uow.session.scalars(
        select(Notification).where(Notification.user_id == lab.author.user_id)
    ).one()
    assert "rejected" in note.subject
    assert "porosity threshold not justified" in note.body
    messages = mailbox.wait_for(1)
    assert any("rejected" in str(m["Subject"]) for m in messages)
    assert any("porosity threshold not justified" in m.get_content() for m in messages)

    revision_two = str(second.id)
    signing.sign(lab.ctx(lab.author), "analysis", revision_two, "authored", PASSWORD)
    signing.sign(lab.ctx(lab.reviewer), "analysis", revision_two, "reviewed", PASSWORD)
    signing.sign(
        lab.ctx(lab.qa), "analysis", revision_two, "rejected", PASSWORD, reason="wrong sample"
    )
    assert (analysis.status, analysis.current_revision) == ("draft", 3)
    count = lab.uow.session.scalars(
        select(AnalysisRevision).where(AnalysisRevision.analysis_id == analysis.id)
    ).all()
    assert len(count) == 3
    verdicts = signing.record_signatures(lab.ctx(lab.qa), "analysis", first)
    assert [v.status for v in verdicts] == ["valid", "valid"]


def test_the_review_queue_shows_only_what_awaits_each_person(lab: Lab) -> None:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    assert analysis_review.review_queue(lab.ctx(lab.reviewer)) == []
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    assert analysis_review.review_queue(lab.ctx(lab.reviewer)) == [analysis]
    assert analysis_review.review_queue(lab.ctx(lab.author)) == []
    signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "reviewed", PASSWORD)
    assert analysis_review.review_queue(lab.ctx(lab.reviewer)) == []
    assert analysis_review.review_queue(lab.ctx(lab.qa)) == [analysis]
