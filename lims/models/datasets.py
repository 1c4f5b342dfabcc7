"""Datasets and their immutable versions, each a frozen set of files plus metadata."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check
from lims.models.projects import Sample
from lims.models.users import User


class Dataset(Base):
    """One scan (or derived result) of a sample; its content lives in versions."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("sample_id", "name"),)

    id: Mapped[UuidPk]
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("samples.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[CreatedAt]

    sample: Mapped[Sample] = relationship()
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )


class DatasetVersion(Base):
    """A frozen set of files and metadata; a change is a new version with a parent."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
        CheckConstraint(sha256_check("manifest_sha256"), name="manifest_sha256_hex"),
    )

    id: Mapped[UuidPk]
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), index=True)
    number: Mapped[int]
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dataset_versions.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    manifest_sha256: Mapped[Sha256Hex]
    created_at: Mapped[CreatedAt]

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    author: Mapped[User] = relationship()
    files: Mapped[list[VersionFile]] = relationship(
        back_populates="version", order_by="VersionFile.path"
    )

    @property
    def committed_at(self) -> dt.datetime:
        """When the version became visible (its transaction time)."""
        return self.created_at


class VersionFile(Base):
    """One file of a version: a relative path bound to a blob."""

    __tablename__ = "version_files"
    __table_args__ = (
        UniqueConstraint("version_id", "path"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        CheckConstraint(
            r"path <> '' AND path !~ '^/' AND path !~ '(^|/)\.\.(/|$)'", name="path_relative"
        ),
    )

    id: Mapped[UuidPk]
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    blob_sha256: Mapped[Sha256Hex] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)

    version: Mapped[DatasetVersion] = relationship(back_populates="files")
