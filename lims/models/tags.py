"""Tags on datasets: append-only labels, removed by an append-only removal with a reason."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk
from lims.models.users import User


class Tag(Base):
    """A label a user put on a dataset; never changed (a removal is a separate row)."""

    __tablename__ = "tags"
    __table_args__ = (
        CheckConstraint("length(btrim(label)) > 0", name="label_given"),
        Index("ix_tags_dataset_id", "dataset_id"),
    )

    id: Mapped[UuidPk]
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"))
    label: Mapped[str] = mapped_column(String(60))
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[CreatedAt]

    added_by: Mapped[User] = relationship(foreign_keys=[added_by_id])
    removal: Mapped[TagRemoval | None] = relationship(back_populates="tag", uselist=False)


class TagRemoval(Base):
    """The removal of one tag, by whom, when and why."""

    __tablename__ = "tag_removals"
    __table_args__ = (CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),)

    id: Mapped[UuidPk]
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    removed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[CreatedAt]

    tag: Mapped[Tag] = relationship(back_populates="removal")
    removed_by: Mapped[User] = relationship(foreign_keys=[removed_by_id])
