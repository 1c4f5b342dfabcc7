"""Tags on datasets: add and remove (with a reason), both audited; list a dataset's tags."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, UserError
from lims.models import Tag, TagRemoval
from lims.services import access
from lims.services.changes import refuse_if_retired
from lims.services.context import ServiceContext

MAX_LABEL_LENGTH = 60
MAX_TAGS_PER_DATASET = 50
_LABEL = re.compile(r"^[\w][\w .:+#/-]*$")


def clean_label(raw: str) -> str:
    """A tag label in its stored form (lower case, single spaces), or UserError saying why not."""
    label = " ".join(raw.split()).lower()
    if not label:
        raise UserError("a tag needs a label")
    if len(label) > MAX_LABEL_LENGTH:
        raise UserError(f"a tag has at most {MAX_LABEL_LENGTH} characters")
    if not _LABEL.match(label):
        raise UserError(
            "a tag starts with a letter or digit and holds only letters, digits, spaces "
            "and . : + # / -"
        )
    return label


def _writable_dataset(ctx: ServiceContext, dataset_id: uuid.UUID) -> uuid.UUID:
    project_id = access.project_id_of(ctx.uow.session, "dataset", dataset_id)
    access.check_visible(ctx, project_id, "dataset")
    access.check(ctx, Permission.NOTE_WRITE, project_id)
    assert project_id is not None  # noqa: S101 - check_visible refused a missing one
    return project_id


def active_tags(ctx: ServiceContext, dataset_id: uuid.UUID) -> list[Tag]:
    """The dataset's tags that have not been removed, by label."""
    access.check_visible(
        ctx, access.project_id_of(ctx.uow.session, "dataset", dataset_id), "dataset"
    )
    return list(
        ctx.uow.session.scalars(
            select(Tag)
            .outerjoin(TagRemoval, TagRemoval.tag_id == Tag.id)
            .where(Tag.dataset_id == dataset_id, TagRemoval.id.is_(None))
            .order_by(Tag.label)
        )
    )


def add_tag(ctx: ServiceContext, dataset_id: uuid.UUID, label: str) -> Tag:
    """Put a tag on a dataset (audited).

    Raises:
        UserError: the label is empty, too long or has other characters.
        ConflictError: the dataset has this tag already, or too many, or is retired.
    """
    identity = ctx.require_identity()
    project_id = _writable_dataset(ctx, dataset_id)
    clean = clean_label(label)
    refuse_if_retired(ctx, ("project", project_id), ("dataset", dataset_id))
    current = active_tags(ctx, dataset_id)
    if any(tag.label == clean for tag in current):
        raise ConflictError(f"the dataset is already tagged {clean!r}")
    if len(current) >= MAX_TAGS_PER_DATASET:
        raise ConflictError(f"a dataset has at most {MAX_TAGS_PER_DATASET} tags")
    tag = Tag(dataset_id=dataset_id, label=clean, added_by_id=identity.user_id)
    ctx.uow.session.add(tag)
    ctx.uow.session.flush()
    ctx.audit(
        EventDraft(
            "tag.add",
            "dataset",
            str(dataset_id),
            {"tag_id": [None, str(tag.id)], "tag": [None, clean]},
        )
    )
    return tag


def remove_tag(ctx: ServiceContext, tag_id: uuid.UUID, *, reason: str) -> TagRemoval:
    """Remove a tag from its dataset, with a reason (audited; the tag row stays).

    Raises:
        UserError: no reason.
        NotFoundError: no such tag (or not visible).
        ConflictError: the tag was removed already.
    """
    identity = ctx.require_identity()
    why = reason.strip()
    if not why:
        raise UserError("removing a tag needs a reason")
    tag = ctx.uow.session.get(Tag, tag_id)
    if tag is None:
        raise NotFoundError("no such tag")
    project_id = _writable_dataset(ctx, tag.dataset_id)
    refuse_if_retired(ctx, ("project", project_id), ("dataset", tag.dataset_id))
    if tag.removal is not None:
        raise ConflictError(f"the tag {tag.label!r} was removed already")
    removal = TagRemoval(tag_id=tag.id, reason=why, removed_by_id=identity.user_id)
    ctx.uow.session.add(removal)
    ctx.uow.session.flush()
    ctx.audit(
        EventDraft(
            "tag.remove",
            "dataset",
            str(tag.dataset_id),
            {"tag_id": str(tag.id), "tag": [tag.label, None]},
            reason=why,
        )
    )
    return removal
