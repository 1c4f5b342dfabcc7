"""What ctvault derives from a version for viewing: canonical array, thumbnails, previews."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check

DERIVATIVE_KINDS = ("canonical", "thumbnail", "ortho_z", "ortho_y", "ortho_x", "mip")
PREPARATION_STATES = ("queued", "running", "ready", "failed", "not_an_image")


class VersionDerivative(Base):
    """One derived file of a version, stored as a blob; immutable like the version."""

    __tablename__ = "version_derivatives"
    __table_args__ = (
        UniqueConstraint("version_id", "kind"),
        CheckConstraint(f"kind IN {DERIVATIVE_KINDS!r}", name="kind_known"),
        CheckConstraint(
            f"array_digest IS NULL OR {sha256_check('array_digest')}", name="array_digest_hex"
        ),
    )

    id: Mapped[UuidPk]
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    blob_sha256: Mapped[Sha256Hex] = mapped_column(ForeignKey("blobs.sha256"))
    media_type: Mapped[str] = mapped_column(String(100))
    array_digest: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[CreatedAt]


class VersionPreparation(Base):
    """Where the preparation of a version for viewing stands (the one mutable row)."""

    __tablename__ = "version_preparations"
    __table_args__ = (CheckConstraint(f"state IN {PREPARATION_STATES!r}", name="state_known"),)

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dataset_versions.id"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime]
