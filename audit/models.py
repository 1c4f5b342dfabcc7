"""AuditEvent: one append-only, hash-linked row per state change or data read."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import Sha256Hex, sha256_check


class AuditEvent(Base):
    """Who did what to which record, when, why, and what the values were before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(sha256_check("hash"), name="hash_hex"),
        CheckConstraint(sha256_check("prev_hash"), name="prev_hash_hex"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[dict[str, Any]]
    prev_hash: Mapped[Sha256Hex]
    hash: Mapped[Sha256Hex] = mapped_column(unique=True)
