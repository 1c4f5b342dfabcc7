"""What every record page shows besides the record: retirement, history, notes, names."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from flask import request

from audit.query import EventView
from lims.models import Note, Retirement
from lims.services import audit_trail, changes, users
from lims.services.context import ServiceContext
from lims.web import context

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


def printed_names(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Printed names ("Display Name (username)") of note authors and retirers.

    Stopgap until ``Note`` and ``Retirement`` carry a ``User`` relationship: an inactive
    account shows its short id.
    """
    names: dict[uuid.UUID, str] = {}
    for user_id in set(user_ids):
        identity = users.load_identity(context.uow(), user_id, {})
        names[user_id] = (
            identity.printed_name if identity else f"user {str(user_id)[:8]} (inactive)"
        )
    return names


@dataclasses.dataclass(frozen=True, slots=True)
class Trail:
    """A record's retirement, audit history (oldest first) and notes."""

    kind: str
    record_id: uuid.UUID
    retirement: Retirement | None
    history: list[EventView]
    notes: list[Note]
    names: dict[uuid.UUID, str]

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


def trail_of(ctx: ServiceContext, kind: str, record_id: uuid.UUID) -> Trail:
    """Load the retirement, history and notes of one record."""
    retirement = changes.retirement_of(ctx, kind, record_id)
    notes = changes.notes_of(ctx, kind, record_id)
    people = [note.author_id for note in notes]
    if retirement is not None:
        people.append(retirement.retired_by_id)
    return Trail(
        kind=kind,
        record_id=record_id,
        retirement=retirement,
        history=audit_trail.record_history(ctx, kind, str(record_id)),
        notes=notes,
        names=printed_names(people),
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
    """Split a list into what to show and the retirements of its records.

    One ``retirement_of`` call per record until a batch service exists.
    """
    show = request.args.get(SHOW_RETIRED) == "1"
    retired: dict[uuid.UUID, Retirement] = {}
    for item in items:
        found = changes.retirement_of(ctx, kind, key(item))
        if found is not None:
            retired[key(item)] = found
    shown = list(items) if show else [item for item in items if key(item) not in retired]
    return Listing(items=shown, retired=retired, show_retired=show)
