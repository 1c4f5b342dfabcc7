"""Retirements: nothing is deleted; a record is retired with a reason (invariant 5)."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk
from lims.models.users import User


class Retirement(Base):
    """Marks one record (by type and id) as retired; the record itself stays readable."""

    __tablename__ = "retirements"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
    )

    id: Mapped[UuidPk]
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(Text)
    retired_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[CreatedAt]

    retired_by: Mapped[User] = relationship()
