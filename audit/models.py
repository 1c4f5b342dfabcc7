"""Audit tables: the append-only, hash-linked events and the signed checkpoints of the head."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, sha256_check


class AuditEvent(Base):
    """Who did what to which record, when, why, and what the values were before and after.

    ``changes`` and ``context`` hold canonical JSON text (the exact bytes that were hashed),
    so verification needs no re-encoding; ``changes`` maps a field to ``[old, new]``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(sha256_check("hash"), name="hash_hex"),
        CheckConstraint(sha256_check("prev_hash"), name="prev_hash_hex"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint(
            "changes::jsonb IS NOT NULL AND context::jsonb IS NOT NULL", name="json_text"
        ),
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_actor_id", "actor_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    changes: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[Sha256Hex]
    hash: Mapped[Sha256Hex] = mapped_column(unique=True)


class AuditCheckpoint(Base):
    """A signed statement "the chain had ``seq`` events and its head was ``head_hash``"."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (CheckConstraint(sha256_check("head_hash"), name="head_hash_hex"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[Sha256Hex]
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
