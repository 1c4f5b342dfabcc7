"""Electronic signatures and the keys that seal them (Part 11 §11.50, §11.70).

A :class:`Signature` row is written once and never changed: the database refuses UPDATE and
DELETE; its signer may withdraw it, which adds a :class:`SignatureWithdrawal`. ``manifest``
holds the exact canonical JSON text that ctvault's Ed25519 key signed; the other columns
repeat its fields so they can be queried and shown.
:class:`SigningKey` rows are append-only too: rotation adds a key, the newest one signs,
older ones stay to verify what they signed.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check

MEANINGS = ("authored", "reviewed", "approved", "rejected", "verified")


class Signature(Base):
    """One person's signature of one record's content, with its meaning."""

    __tablename__ = "signatures"
    __table_args__ = (
        CheckConstraint(f"meaning IN {MEANINGS!r}", name="meaning_known"),
        CheckConstraint(sha256_check("content_sha256"), name="content_sha256_hex"),
        CheckConstraint("meaning <> 'rejected' OR length(btrim(reason)) > 0", name="reject_reason"),
        Index("ix_signatures_record", "record_type", "record_id"),
        Index("ix_signatures_signer_id", "signer_id"),
    )

    id: Mapped[UuidPk]
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[str] = mapped_column(String(100))
    content_sha256: Mapped[Sha256Hex]
    meaning: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    signer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    signer_username: Mapped[str] = mapped_column(String(150))
    printed_name: Mapped[str] = mapped_column(String(300))
    signed_at: Mapped[dt.datetime]
    key_id: Mapped[str] = mapped_column(ForeignKey("signing_keys.key_id"))
    manifest: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class SignatureWithdrawal(Base):
    """The one-way withdrawal of a signature by its signer (Part 11 §11.70).

    The signature itself stays, sealed and listed, but no longer counts: it is shown as
    withdrawn, with who withdrew it, when and why. Written once per signature (the key is
    the signature's id) and never changed; the database refuses UPDATE and DELETE.
    """

    __tablename__ = "signature_withdrawals"
    __table_args__ = (CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),)

    signature_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signatures.id"), primary_key=True)
    withdrawn_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    withdrawn_at: Mapped[dt.datetime]
    created_at: Mapped[CreatedAt]


class SigningKey(Base):
    """An Ed25519 key of ctvault; the private half is stored encrypted (PKCS#8)."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem_encrypted: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[CreatedAt]
