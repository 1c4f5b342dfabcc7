"""Preparing versions for viewing: schedule the worker job, and report where it stands."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from lims.models import VersionDerivative, VersionPreparation
from lims.services.context import ServiceContext


def schedule_preparation(ctx: ServiceContext, version_id: uuid.UUID) -> None:
    """Mark a new version as queued and enqueue its preparation once the commit succeeds."""
    session = ctx.uow.session
    session.add(
        VersionPreparation(
            version_id=version_id,
            state="queued",
            message="",
            updated_at=session.scalar(select(func.now())),
        )
    )
    queues = ctx.queues
    if queues is not None:
        ctx.uow.after_commit(lambda: queues.enqueue_preparation(version_id))


def preparation_of(ctx: ServiceContext, version_id: uuid.UUID) -> VersionPreparation | None:
    """The preparation state of a version (the caller has checked it may see the version)."""
    return ctx.uow.session.get(VersionPreparation, version_id)


def derivatives_of(ctx: ServiceContext, version_id: uuid.UUID) -> dict[str, VersionDerivative]:
    """The derived files of a version by kind (canonical, thumbnail, ortho_*, mip)."""
    rows = ctx.uow.session.scalars(
        select(VersionDerivative).where(VersionDerivative.version_id == version_id)
    )
    return {row.kind: row for row in rows}
