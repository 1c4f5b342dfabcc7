"""Saved searches: a user's own named searches (bookmarks, not records: deletable)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select

from lims.auth.identity import Identity
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import SavedSearch
from lims.services.context import ServiceContext
from lims.services.search import is_inspector, request_from_params

MAX_NAME_LENGTH = 100
MAX_SAVED = 100
SAVED_PARAMS = (
    *("q", "kind", "project", "sample", "modality", "instrument", "operator", "tag"),
    *("signature", "review", "from", "to", "retired", "sort"),
)


def _refuse_inspector(identity: Identity) -> None:
    # An auditor inspects and changes nothing, not even their own bookmarks (DI-10).
    if is_inspector(identity):
        raise PermissionDeniedError("an inspector's account changes nothing")


def list_saved(ctx: ServiceContext) -> list[SavedSearch]:
    """The caller's saved searches, by name."""
    identity = ctx.require_identity()
    return list(
        ctx.uow.session.scalars(
            select(SavedSearch)
            .where(SavedSearch.user_id == identity.user_id)
            .order_by(func.lower(SavedSearch.name))
        )
    )


def save_search(ctx: ServiceContext, name: str, params: Mapping[str, Sequence[str]]) -> SavedSearch:
    """Save the search given by query parameters under a name of the caller's choice.

    Raises:
        UserError: no name, a long name, or parameters the search would refuse.
        ConflictError: the caller has a saved search with this name, or too many.
    """
    identity = ctx.require_identity()
    _refuse_inspector(identity)
    clean = " ".join(name.split())
    if not clean:
        raise UserError("a saved search needs a name")
    if len(clean) > MAX_NAME_LENGTH:
        raise UserError(f"a saved search name has at most {MAX_NAME_LENGTH} characters")
    request_from_params(params)
    query = {k: [v for v in params.get(k, ()) if v] for k in SAVED_PARAMS}
    query = {k: v for k, v in query.items() if v}
    existing = list_saved(ctx)
    if any(s.name.lower() == clean.lower() for s in existing):
        raise ConflictError(f"you already have a saved search named {clean!r}")
    if len(existing) >= MAX_SAVED:
        raise ConflictError(f"at most {MAX_SAVED} saved searches; delete one first")
    saved = SavedSearch(user_id=identity.user_id, name=clean, query=query)
    ctx.uow.session.add(saved)
    ctx.uow.session.flush()
    return saved


def get_saved(ctx: ServiceContext, saved_id: uuid.UUID) -> SavedSearch:
    """One of the caller's saved searches (others' are "not found")."""
    identity = ctx.require_identity()
    saved = ctx.uow.session.get(SavedSearch, saved_id)
    if saved is None or saved.user_id != identity.user_id:
        raise NotFoundError("no such saved search")
    return saved


def delete_saved(ctx: ServiceContext, saved_id: uuid.UUID) -> None:
    """Delete one of the caller's saved searches."""
    _refuse_inspector(ctx.require_identity())
    saved = get_saved(ctx, saved_id)
    ctx.uow.session.delete(saved)
    ctx.uow.session.flush()
