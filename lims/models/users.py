"""User accounts, their roles, password history and API tokens."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check

ROLE_NAMES = ("viewer", "microscopist", "reviewer", "auditor", "admin")


def normalize_username(username: str) -> str:
    """NFKC-normalise and case-fold a user name, so ``JDoe`` and ``jdoe`` are one id."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


class User(Base):
    """A person who acts in ctvault; the id is internal and never reused."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("auth_source IN ('local', 'ldap')", name="auth_source_known"),
    )

    id: Mapped[UuidPk]
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    auth_source: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    directory_uuid: Mapped[str | None] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[dt.datetime | None]
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default="false")
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]
    last_login_at: Mapped[dt.datetime | None]

    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", foreign_keys="RoleAssignment.user_id"
    )


class RoleAssignment(Base):
    """A role held globally (no project) or within one project; revoked, never deleted."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_NAMES!r}", name="role_known"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
        Index(
            "uq_role_assignments_active",
            "user_id",
            "role",
            text("coalesce(project_id, '00000000-0000-0000-0000-000000000000')"),
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[UuidPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[CreatedAt]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(back_populates="role_assignments", foreign_keys=[user_id])


class PasswordHistory(Base):
    """Earlier password hashes of a local account, so a password is not reused."""

    __tablename__ = "password_history"

    id: Mapped[UuidPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class ApiToken(Base):
    """A token a user made for scripts: stored as its SHA-256, scoped, expiring, revocable."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("scope IN ('read', 'write')", name="scope_known"),
        CheckConstraint(sha256_check("token_sha256"), name="token_sha256_hex"),
    )

    id: Mapped[UuidPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[Sha256Hex] = mapped_column(unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
