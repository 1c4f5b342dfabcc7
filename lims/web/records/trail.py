"""What every record page shows besides the record: retirement, history, notes, names."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from flask import request

from audit.query import EventView
from lims.auth.roles import Permission
from lims.models import Note, Retirement
from lims.services import audit_trail, changes
from lims.services.context import ServiceContext

T = TypeVar("T")

# URL segment -> record kind (the audit trail's object type)
KINDS = {
    "projects": "project",
    "samples": "sample",
    "datasets": "dataset",
    "versions": "dataset_version",
}
SEGMENTS = {kind: segment for segment, kind in KINDS.items()}
LABELS = {
    "project": "project",
    "sample": "sample",
    "dataset": "dataset",
    "dataset_version": "dataset version",
}
SHOW_RETIRED = "retired"
EDIT_PERMISSION = {"project": Permission.PROJECT_MANAGE, "sample": Permission.SAMPLE_WRITE}


@dataclasses.dataclass(frozen=True, slots=True)
class Trail:
    """A record's retirement, audit history (oldest first) and notes."""

    kind: str
    record_id: uuid.UUID
    retirement: Retirement | None
    history: list[EventView]
    notes: list[Note]
    project_id: uuid.UUID | None = None

    @property
    def segment(self) -> str:
        """The record's URL segment (``projects``, ``versions``…) for form actions."""
        return SEGMENTS[self.kind]

    @property
    def label(self) -> str:
        """The record kind in words."""
        return LABELS[self.kind]

    @property
    def retired(self) -> bool:
        """True once the record is retired."""
        return self.retirement is not None

    @property
    def retire_permission(self) -> str:
        """The permission that retiring this kind of record needs."""
        return changes.RETIRE_PERMISSION[self.kind].value

    @property
    def edit_permission(self) -> str:
        """The permission that editing this kind of record needs."""
        return EDIT_PERMISSION.get(self.kind, Permission.PROJECT_MANAGE).value


def trail_of(
    ctx: ServiceContext, kind: str, record_id: uuid.UUID, project_id: uuid.UUID | None = None
) -> Trail:
    """Load the retirement, history and notes of one record (of project ``project_id``)."""
    return Trail(
        kind=kind,
        record_id=record_id,
        retirement=changes.retirement_of(ctx, kind, record_id),
        history=audit_trail.record_history(ctx, kind, str(record_id)),
        notes=changes.notes_of(ctx, kind, record_id),
        project_id=project_id,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A list of records with the retired ones hidden unless ``?retired=1`` asks for them."""

    items: list[T]
    retired: dict[uuid.UUID, Retirement]
    show_retired: bool

    @property
    def retired_count(self) -> int:
        """How many records of the full list are retired."""
        return len(self.retired)


def listing(
    ctx: ServiceContext, kind: str, items: Sequence[T], key: Callable[[T], uuid.UUID]
) -> Listing[T]:
    """Split a list into what to show and the retirements of its records (one query)."""
    show = request.args.get(SHOW_RETIRED) == "1"
    retired = changes.retirements_of(ctx, kind, [key(item) for item in items])
    shown = list(items) if show else [item for item in items if key(item) not in retired]
    return Listing(items=shown, retired=retired, show_retired=show)
