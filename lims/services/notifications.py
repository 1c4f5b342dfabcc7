"""A person's in-app notifications: list, count unread, mark read (nobody else's)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from lims.errors import NotFoundError
from lims.models import Notification
from lims.services.context import ServiceContext

PAGE_SIZE = 100


def list_notifications(ctx: ServiceContext, *, unread_only: bool = False) -> list[Notification]:
    """The caller's newest notifications, newest first."""
    identity = ctx.require_identity()
    query = select(Notification).where(Notification.user_id == identity.user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    return list(ctx.uow.session.scalars(query.limit(PAGE_SIZE)))


def unread_count(ctx: ServiceContext) -> int:
    """How many of the caller's notifications are unread."""
    identity = ctx.require_identity()
    query = select(func.count()).where(
        Notification.user_id == identity.user_id, Notification.read_at.is_(None)
    )
    return int(ctx.uow.session.scalar(query) or 0)


def mark_read(ctx: ServiceContext, notification_id: uuid.UUID) -> Notification:
    """Mark one of the caller's notifications read and return it.

    Raises:
        NotFoundError: no such notification for this user (another person's is not found).
    """
    identity = ctx.require_identity()
    notification = ctx.uow.session.get(Notification, notification_id)
    if notification is None or notification.user_id != identity.user_id:
        raise NotFoundError(f"notification {notification_id} not found")
    if notification.read_at is None:
        ctx.uow.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=func.now())
        )
        ctx.uow.commit()
    return notification


def mark_all_read(ctx: ServiceContext) -> int:
    """Mark every unread notification of the caller read; how many were."""
    identity = ctx.require_identity()
    result = ctx.uow.session.execute(
        update(Notification)
        .where(Notification.user_id == identity.user_id, Notification.read_at.is_(None))
        .values(read_at=func.now())
    )
    ctx.uow.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
