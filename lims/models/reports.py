"""Reports as records: each generated, sealed PDF is an immutable row bound to its blob.

:class:`ReportRequest` is the one mutable row: a request's progress (queued, done, failed)
and, once done, the report it produced (same id). :class:`Report` is written once when the
sealed PDF is stored; the database refuses UPDATE and DELETE on it (invariant 1).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check
from lims.models.users import User

REPORT_KINDS = ("analysis", "dataset", "audit_trail")
REQUEST_STATUSES = ("queued", "done", "failed")


class ReportRequest(Base):
    """Someone asked for a report; a worker renders, seals and files it."""

    __tablename__ = "report_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN {REPORT_KINDS!r}", name="kind_known"),
        CheckConstraint(f"status IN {REQUEST_STATUSES!r}", name="status_known"),
        Index("ix_report_requests_object", "object_type", "object_id"),
    )

    id: Mapped[UuidPk]
    kind: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[dt.datetime]

    requested_by: Mapped[User] = relationship()


class Report(Base):
    """One sealed PDF report, stored as a blob; immutable."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(f"kind IN {REPORT_KINDS!r}", name="kind_known"),
        CheckConstraint(sha256_check("blob_sha256"), name="blob_sha256_hex"),
        CheckConstraint("page_count >= 1", name="page_count_positive"),
        Index("ix_reports_object", "object_type", "object_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report_requests.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    record_version: Mapped[int | None]
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    blob_sha256: Mapped[Sha256Hex] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int]
    seal_subject: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]

    requested_by: Mapped[User] = relationship()

    @property
    def record_label(self) -> str:
        """``<id>@v<version>`` of the record the report is about."""
        if self.record_version is None:
            return self.object_id
        return f"{self.object_id}@v{self.record_version}"
