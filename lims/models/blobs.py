"""Blobs: bytes stored once under their SHA-256; rows are immutable."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, sha256_check


class Blob(Base):
    """One content-addressed file in the store."""

    __tablename__ = "blobs"
    __table_args__ = (
        CheckConstraint(sha256_check("sha256"), name="sha256_hex"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    )

    sha256: Mapped[Sha256Hex] = mapped_column(primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[CreatedAt]
