"""Processing records: step registry mirror, workflows, runs, their progress and results.

A run is split by mutability (DESIGN invariant 1, STYLE §4.5):

- :class:`Run` is the immutable record written at submit: inputs by version id and array
  digest, steps with code digests and canonical parameters, the seed. Enough to replay it.
- :class:`RunState` is the one mutable row: status, progress, worker.
- :class:`RunResult` is written once at the end (succeeded, failed or cancelled): the
  environment, worker host, times, peak memory, log, outputs with digests, tables, error;
  the database refuses UPDATE and DELETE on it.

:class:`ProcessingStep` mirrors the code registry (name, version, code digest) with the
administrative validation *state* (the only column the application may update).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.db.base import Base
from lims.db.types import CreatedAt, Sha256Hex, UuidPk, sha256_check
from lims.models.users import User

STEP_STATES = ("validated", "draft", "retired")
RUN_KINDS = ("run", "replay")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
RESOURCE_CLASSES = ("default", "heavy")


class ProcessingStep(Base):
    """One registered step version as the database knows it, with its validation state."""

    __tablename__ = "processing_steps"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        CheckConstraint(f"state IN {STEP_STATES!r}", name="state_known"),
        CheckConstraint(sha256_check("code_digest"), name="code_digest_hex"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[UuidPk]
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    code_digest: Mapped[Sha256Hex]
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20))
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    state_changed_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]


class Workflow(Base):
    """An ordered list of step versions with canonical parameters; immutable.

    Editing a workflow makes a new row with the same name, the next version and a parent.
    ``steps`` holds ``[{"name", "version", "parameters", "wiring"}]``; ``outputs`` names the
    array ports to keep (empty: the arrays of the last step that produces any).
    """

    __tablename__ = "workflows"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("length(btrim(name)) > 0", name="name_given"),
        CheckConstraint(sha256_check("definition_sha256"), name="definition_sha256_hex"),
    )

    id: Mapped[UuidPk]
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("workflows.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    outputs: Mapped[list[str]] = mapped_column(JSONB)
    resource_class: Mapped[str] = mapped_column(String(20), default="default")
    definition_sha256: Mapped[Sha256Hex]
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[CreatedAt]

    created_by: Mapped[User] = relationship()


class Run(Base):
    """The immutable record of one execution (or replay) of a workflow, written at submit."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(f"kind IN {RUN_KINDS!r}", name="kind_known"),
        CheckConstraint(f"resource_class IN {RESOURCE_CLASSES!r}", name="resource_class_known"),
        CheckConstraint(
            "(kind = 'replay') = (replay_of_id IS NOT NULL)", name="replay_has_original"
        ),
        CheckConstraint(sha256_check("record_sha256"), name="record_sha256_hex"),
        Index("ix_runs_project_id_created_at", "project_id", "created_at"),
    )

    id: Mapped[UuidPk]
    kind: Mapped[str] = mapped_column(String(10))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id"), index=True)
    replay_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id"), index=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("samples.id"))
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    is_gxp: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text, default="")
    resource_class: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    outputs_wanted: Mapped[list[str]] = mapped_column(JSONB)
    seed: Mapped[int] = mapped_column(BigInteger)
    record_sha256: Mapped[Sha256Hex]
    created_at: Mapped[CreatedAt]

    workflow: Mapped[Workflow] = relationship()
    submitted_by: Mapped[User] = relationship()
    state: Mapped[RunState] = relationship(back_populates="run", uselist=False)
    result: Mapped[RunResult | None] = relationship(back_populates="run", uselist=False)


class RunState(Base):
    """Where a run stands: the one mutable row of a run."""

    __tablename__ = "run_states"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status_known"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
        Index("ix_run_states_status", "status"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]

    run: Mapped[Run] = relationship(back_populates="state")


class RunResult(Base):
    """How a run ended, written once; immutable (invariant 1)."""

    __tablename__ = "run_results"
    __table_args__ = (CheckConstraint(f"status IN {FINAL_STATUSES!r}", name="status_final"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    environment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    worker_host: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime]
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    log: Mapped[str] = mapped_column(Text, default="")
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    tables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scalars: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    replay: Mapped[dict[str, Any] | None]
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[CreatedAt]

    run: Mapped[Run] = relationship(back_populates="result")
