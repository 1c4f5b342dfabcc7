"""Notes: free-text remarks attached to any record; append-only like the audit trail."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk
from lims.models.users import User


class Note(Base):
    """A remark by a user on a record (a project, sample, dataset or version)."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint("length(btrim(body)) > 0", name="body_given"),
        Index("ix_notes_object", "object_type", "object_id"),
    )

    id: Mapped[UuidPk]
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[uuid.UUID]
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[CreatedAt]

    author: Mapped[User] = relationship()
