"""Who the token acts as, and notes on records (read and add)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from flask import Response
from pydantic import BaseModel, Field

from lims.models import Note
from lims.services import changes
from lims.web import context
from lims.web.api.pagination import PageQuery, paginate
from lims.web.api.parsing import parse_body, parse_query, render
from lims.web.api.routing import CREATED, operation
from lims.web.api.schemas import Body, Page, Text

NoteTarget = Literal["project", "sample", "dataset", "dataset_version"]


class WhoAmI(BaseModel):
    """The account a token acts as, with its global and per-project roles."""

    user_id: uuid.UUID
    username: str
    printed_name: str
    roles: list[str]
    project_roles: dict[str, list[str]]


class NoteOut(BaseModel):
    """A free-text remark on a record; notes are never edited."""

    id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    body: str
    author_id: uuid.UUID
    created_at: dt.datetime

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        """The API view of a note."""
        return cls(
            id=note.id,
            object_type=note.object_type,
            object_id=note.object_id,
            body=note.body,
            author_id=note.author_id,
            created_at=note.created_at,
        )


class NewNote(Body):
    """A note to attach to a record."""

    object_type: NoteTarget
    object_id: uuid.UUID
    body: Text = Field(min_length=1, max_length=changes.MAX_NOTE_LENGTH)


class NoteQuery(PageQuery):
    """The record whose notes to list."""

    object_type: NoteTarget
    object_id: uuid.UUID


@operation("/whoami", tag="account", response=WhoAmI)
def whoami() -> Response:
    """Who the token acts as, with their roles."""
    identity = context.require_identity()
    return render(
        WhoAmI(
            user_id=identity.user_id,
            username=identity.username,
            printed_name=identity.printed_name,
            roles=sorted(r.value for r in identity.roles),
            project_roles={
                str(p): sorted(r.value for r in roles)
                for p, roles in identity.project_roles.items()
            },
        )
    )


@operation("/notes", tag="notes", response=Page[NoteOut], query=NoteQuery, errors=(400, 404, 422))
def list_notes() -> Response:
    """The notes on a record, oldest first."""
    query = parse_query(NoteQuery)
    found = changes.notes_of(context.service_context(), query.object_type, query.object_id)
    items, cursor = paginate(
        found,
        lambda n: (n.created_at.isoformat(), str(n.id)),
        query,
        f"notes:{query.object_type}:{query.object_id}",
    )
    return render(Page[NoteOut](items=[NoteOut.of(n) for n in items], next_cursor=cursor))


@operation(
    "/notes",
    method="POST",
    tag="notes",
    response=NoteOut,
    status=CREATED,
    body=NewNote,
    errors=(400, 403, 404, 422),
)
def add_note() -> Response:
    """Attach a note to a record (write-scope token; audited)."""
    new = parse_body(NewNote)
    note = changes.add_note(context.service_context(), new.object_type, new.object_id, new.body)
    return render(NoteOut.of(note), CREATED)
