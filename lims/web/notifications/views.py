"""Notification pages: parse the request, call one service, render."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lims.services import notifications
from lims.web import context
from lims.web.notifications.links import record_link

blueprint = Blueprint(
    "notifications", __name__, url_prefix="/notifications", template_folder="templates"
)


@blueprint.get("")
def inbox() -> tuple[str, int]:
    """The caller's notifications, newest first; unread ones stand out."""
    unread_only = request.args.get("show") == "unread"
    items = notifications.list_notifications(context.service_context(), unread_only=unread_only)
    rows = [(item, record_link(item)) for item in items]
    return render_template("notifications/inbox.html", rows=rows, unread_only=unread_only), 200


@blueprint.post("/<uuid:notification_id>/open")
def open_notification(notification_id: uuid.UUID) -> Response:
    """Mark one notification read and go to its record (or back to the list)."""
    item = notifications.mark_read(context.service_context(), notification_id)
    return redirect(record_link(item) or url_for("notifications.inbox"))


@blueprint.post("/read")
def mark_all_read() -> Response:
    """Mark every unread notification read."""
    count = notifications.mark_all_read(context.service_context())
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.", "success")
    return redirect(url_for("notifications.inbox"))
