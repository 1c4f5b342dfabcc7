"""Which record types can be signed, and how each one's signed content is read.

A record type is registered once per process with :func:`register`. It gives:

- ``load(session, record_id)``: the record as a :class:`SignableRecord` (its canonical
  content, state, project, authors, and who signed it with which meaning), or None when
  there is no such record;
- ``check(record, identity, meaning)``: raise ``PermissionDeniedError`` (wrong role,
  separation of duties) or ``ConflictError`` (the record's state does not allow this
  meaning now); it must not touch the database;
- ``lock(session, record_id)``: take the row lock that serialises signers of the record
  (``SELECT ... FOR UPDATE`` on its mutable row) before it is loaded again and signed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from lims.auth.identity import Identity
from lims.errors import NotFoundError, UserError
from lims.models.signatures import MEANINGS
from signatures.content import content_digest


@dataclasses.dataclass(frozen=True, slots=True)
class SignableRecord:
    """A record as a signer sees it: what it is, what state it is in, what is attested."""

    record_type: str
    record_id: str
    title: str
    content: Mapping[str, Any]
    state: str = ""
    project_id: uuid.UUID | None = None
    authors: frozenset[uuid.UUID] = frozenset()
    signed_by: Mapping[str, frozenset[uuid.UUID]] = dataclasses.field(default_factory=dict)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical content."""
        return content_digest(self.content)


def _no_lock(_session: Session, _record_id: str) -> None:
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class RecordType:
    """How one kind of record is signed."""

    name: str
    label: str
    meanings: frozenset[str]
    load: Callable[[Session, str], SignableRecord | None]
    check: Callable[[SignableRecord, Identity, str], None]
    lock: Callable[[Session, str], None] = _no_lock

    def __post_init__(self) -> None:
        unknown = self.meanings - set(MEANINGS)
        if unknown:
            raise ValueError(f"unknown meanings {sorted(unknown)}; known: {', '.join(MEANINGS)}")


_TYPES: dict[str, RecordType] = {}


def register(record_type: RecordType) -> None:
    """Make a record type signable (once per process; registering it again is a no-op)."""
    existing = _TYPES.get(record_type.name)
    if existing is not None and existing != record_type:
        raise ValueError(f"record type {record_type.name!r} is already registered differently")
    _TYPES[record_type.name] = record_type


def get(name: str) -> RecordType:
    """The registered record type.

    Raises:
        UserError: no record type of that name can be signed.
    """
    found = _TYPES.get(name)
    if found is None:
        known = ", ".join(sorted(_TYPES)) or "none"
        raise UserError(f"records of type {name!r} cannot be signed (signable: {known})")
    return found


def names() -> list[str]:
    """The registered record type names, sorted."""
    return sorted(_TYPES)


def load(session: Session, record_type: str, record_id: str) -> SignableRecord:
    """The signable record, or NotFoundError."""
    found = get(record_type).load(session, record_id)
    if found is None:
        raise NotFoundError(f"{record_type} {record_id} not found")
    return found
