"""Analyses: a microscopist's record of what runs and data showed, reviewed and signed.

An :class:`Analysis` is the one mutable row (its review status and current revision); its
content lives in :class:`AnalysisRevision` rows, which are immutable (the database refuses
UPDATE and DELETE). Editing or sending back after a rejection adds a revision; signatures
bind to one revision's content digest.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check
from lims.models.users import User

ANALYSIS_STATUSES = ("draft", "submitted", "reviewed", "approved")


class Analysis(Base):
    """Where an analysis stands in review; the only analysis row the application updates."""

    __tablename__ = "analyses"
    __table_args__ = (
        CheckConstraint(f"status IN {ANALYSIS_STATUSES!r}", name="status_known"),
        Index("ix_analyses_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[UuidPk]
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    current_revision: Mapped[int]
    updated_at: Mapped[dt.datetime]
    created_at: Mapped[CreatedAt]

    created_by: Mapped[User] = relationship()
    revisions: Mapped[list[AnalysisRevision]] = relationship(
        back_populates="analysis", order_by="AnalysisRevision.revision"
    )


class AnalysisRevision(Base):
    """One immutable state of an analysis's content (what signers attest to).

    ``dataset_versions`` and ``runs`` hold the ids the analysis rests on, in the author's
    order; ``reason`` says why this revision exists (first draft, edit, sent back).
    """

    __tablename__ = "analysis_revisions"
    __table_args__ = (
        UniqueConstraint("analysis_id", "revision"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("length(btrim(title)) > 0", name="title_given"),
        CheckConstraint(sha256_check("content_sha256"), name="content_sha256_hex"),
    )

    id: Mapped[UuidPk]
    analysis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("analyses.id"), index=True)
    revision: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    conclusions: Mapped[str] = mapped_column(Text, default="")
    dataset_versions: Mapped[list[str]] = mapped_column(JSONB)
    runs: Mapped[list[str]] = mapped_column(JSONB)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[Sha256Hex]
    created_at: Mapped[CreatedAt]

    analysis: Mapped[Analysis] = relationship(back_populates="revisions")
    author: Mapped[User] = relationship()

    def references(self) -> dict[str, Any]:
        """The ids this revision rests on, as stored."""
        return {"dataset_versions": list(self.dataset_versions), "runs": list(self.runs)}
