"""Search documents (maintained by database triggers, read-only here) and saved searches."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from lims.db.base import Base
from lims.db.types import CreatedAt, UuidPk
from lims.models.analyses import AnalysisRevision
from lims.models.runs import Run

DOCUMENT_KINDS = ("project", "sample", "dataset", "run", "analysis")
SIGNATURE_STATES = ("unsigned", "authored", "reviewed", "approved", "rejected", "verified")
REVIEW_STATES = ("none", "draft", "submitted", "reviewed", "approved")


class SearchDocument(Base):
    """What search and the catalogue read about one record; triggers keep it current.

    The id is the record's own id. Migration 0011 owns the trigger functions that write it.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_kind_sort_name", "kind", "sort_name", "id"),
        Index("ix_search_documents_kind_created_at", "kind", "created_at", "id"),
        Index("ix_search_documents_kind_acquired_at", "kind", "acquired_at", "id"),
        Index("ix_search_documents_kind_total_bytes", "kind", "total_bytes", "id"),
        Index("ix_search_documents_project_id", "project_id", "kind", "sort_name", "id"),
        Index("ix_search_documents_sample_id", "sample_id"),
        Index("ix_search_documents_modality", "modality"),
        Index("ix_search_documents_instrument", "instrument"),
        Index("ix_search_documents_operator", "operator"),
        Index("ix_search_documents_signature_state", "signature_state"),
        Index("ix_search_documents_review_state", "review_state"),
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_search_documents_ident",
            "ident",
            postgresql_using="gin",
            postgresql_ops={"ident": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[uuid.UUID]
    sample_id: Mapped[uuid.UUID | None]
    dataset_id: Mapped[uuid.UUID | None]
    title: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    tsv: Mapped[Any] = mapped_column(TSVECTOR)
    ident: Mapped[str] = mapped_column(Text)
    modality: Mapped[str | None] = mapped_column(Text)
    instrument: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    acquired_at: Mapped[dt.datetime | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    latest_version_id: Mapped[uuid.UUID | None]
    latest_number: Mapped[int | None]
    version_count: Mapped[int]
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(20))
    signature_state: Mapped[str | None] = mapped_column(String(20))
    review_state: Mapped[str | None] = mapped_column(String(20))
    retired: Mapped[bool] = mapped_column(Boolean)
    sort_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class SearchWord(Base):
    """One distinct word of the names, codes and tags in the index (typo correction)."""

    __tablename__ = "search_words"
    __table_args__ = (
        Index(
            "ix_search_words_word",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    word: Mapped[str] = mapped_column(Text, primary_key=True)


class SavedSearch(Base):
    """A user's named search: the query text and filters, replayed on demand."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[UuidPk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]]
    created_at: Mapped[CreatedAt]


# Indexes migration 0011 adds to other aggregates' tables for search and lineage: runs by
# their input datasets, analysis revisions by the dataset versions they cite.
Index(
    "ix_runs_inputs",
    Run.inputs,
    postgresql_using="gin",
    postgresql_ops={"inputs": "jsonb_path_ops"},
)
Index(
    "ix_analysis_revisions_dataset_versions",
    AnalysisRevision.dataset_versions,
    postgresql_using="gin",
)
