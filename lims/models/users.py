"""User accounts: an immutable internal id, a unique never-reused user name, roles."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk


def normalize_username(username: str) -> str:
    """NFKC-normalise and case-fold a user name, so ``JDoe`` and ``jdoe`` are one id."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


class User(Base):
    """A person (or the system) who acts in ctvault."""

    __tablename__ = "users"

    id: Mapped[UuidPk]
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[CreatedAt]
    last_login_at: Mapped[dt.datetime | None]

    @property
    def ref(self) -> tuple[str, uuid.UUID]:
        """The (type, id) pair audit events and signatures use."""
        return ("user", self.id)
