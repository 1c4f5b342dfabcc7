"""Jinja helpers: file sizes, times with their zone, digests, names, JSON, the current user."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from flask import Flask

from lims.auth.roles import Permission
from lims.models import User
from lims.services import audit_trail, notifications
from lims.web import context

_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")
_STEP = 1000.0
SHORT_DIGEST = 12
_WHOLE_FROM = 100  # from 100 on, decimals add noise: 123 MB, not 123.4 MB


def filesize(size_bytes: int | None) -> str:
    """A size in decimal units: ``999 bytes``, ``1.5 MB``, ``2.03 GB``."""
    if size_bytes is None:
        return "-"
    if size_bytes < _STEP:
        return "1 byte" if size_bytes == 1 else f"{size_bytes} bytes"
    value = float(size_bytes)
    unit = _UNITS[0]
    for unit in _UNITS[1:]:  # noqa: B007 - the last unit reached is the one shown
        value /= _STEP
        if value < _STEP:
            break
    return f"{value:.3g} {unit}" if value < _WHOLE_FROM else f"{value:.0f} {unit}"


def utc(moment: dt.datetime | None) -> str:
    """A time in UTC with its zone, to the second: ``2025-11-27 21:51:03 UTC``."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        msg = "naive datetime: every time in ctvault carries a zone"
        raise ValueError(msg)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_iso(moment: dt.datetime | None) -> str:
    """ISO 8601 with offset, for ``<time datetime=...>``."""
    return "" if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def short_digest(digest: str | None) -> str:
    """The first characters of a digest, enough to recognise it."""
    if not digest:
        return "-"
    return digest[:SHORT_DIGEST] + "…"


def plural(count: int, word: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def printed_name(user: User | None) -> str:
    """How a person is named on records: ``Marie Curie (mcurie)``."""
    if user is None:
        return "-"
    return f"{user.display_name} ({user.username})"


def pretty_json(value: object) -> str:
    """JSON for people: indented, keys sorted, non-ASCII characters kept."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def compact_json(value: object) -> str:
    """JSON on one line, keys sorted (for a nested value in a table cell)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def init_app(app: Flask) -> None:
    """Register the filters and the ``current_identity`` template variable."""
    app.add_template_filter(filesize, "filesize")
    app.add_template_filter(utc, "utc")
    app.add_template_filter(utc_iso, "utc_iso")
    app.add_template_filter(short_digest, "short_digest")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(printed_name, "printed_name")
    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_filter(compact_json, "compact_json")
    app.context_processor(_template_globals)


def _template_globals() -> dict[str, object]:
    identity = context.identity()
    if identity is None:
        return {"current_identity": None, "can": can, "can_review_audit": False, "unread": 0}
    ctx = context.service_context()
    return {
        "current_identity": identity,
        "can": can,
        "can_review_audit": audit_trail.can_review(ctx),
        "unread": notifications.unread_count(ctx),
    }


def can(permission: str, project_id: uuid.UUID | None = None) -> bool:
    """Whether the current user holds a permission (within a project): shows actions only.

    The server refuses regardless: every service checks the permission again.
    """
    identity = context.identity()
    return identity is not None and identity.can(Permission(permission), project_id)
