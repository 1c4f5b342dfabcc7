"""Projects and the samples inside them."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk


class Project(Base):
    """A study or customer project; the unit of access and of GxP scope."""

    __tablename__ = "projects"

    id: Mapped[UuidPk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_gxp: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[CreatedAt]

    samples: Mapped[list[Sample]] = relationship(back_populates="project")


class Sample(Base):
    """A physical specimen that was scanned, inside one project."""

    __tablename__ = "samples"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[UuidPk]
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[CreatedAt]

    project: Mapped[Project] = relationship(back_populates="samples")
