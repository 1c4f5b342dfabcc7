"""Cursor pagination with opaque, tamper-evident cursors.

A cursor is ``base64url(JSON payload) "." base64url(HMAC-SHA256)``, keyed by the app's secret
key. The payload holds the list it belongs to (endpoint and filters) and the sort key of the
last item returned; the next page starts strictly after that key, so items added meanwhile
neither repeat nor shift a page. A cursor that was altered, truncated, or made for another
list is refused with a 400.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from lims.web.api.problems import RequestError

T = TypeVar("T")
Key = tuple[Any, ...]
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_DOMAIN = b"ctvault api cursor v1"
_MAC_BYTES = 20
_INVALID = "the cursor is invalid: use the next_cursor of the previous page unchanged"


class PageQuery(BaseModel):
    """``limit`` and ``cursor``: what every list endpoint accepts."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None, max_length=2000, description="The next_cursor of the previous page."
    )


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, _DOMAIN, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(scope: str, last: Key) -> str:
    """A signed cursor for the list ``scope`` that continues after the key ``last``."""
    payload = _b64(json.dumps({"s": scope, "k": list(last)}, separators=(",", ":")).encode())
    mac = hmac.new(_key(), payload.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{payload}.{_b64(mac)}"


def decode_cursor(scope: str, cursor: str) -> Key:
    """The key a cursor continues after.

    Raises:
        RequestError: the cursor was altered or belongs to another list (400).
    """
    payload, _, mac = cursor.partition(".")
    try:
        expected = hmac.new(_key(), payload.encode("ascii"), hashlib.sha256).digest()
        given = _unb64(mac)
        if not hmac.compare_digest(expected[:_MAC_BYTES], given):
            raise RequestError(_INVALID, details=[{"field": "query.cursor", "problem": "tampered"}])
        decoded = json.loads(_unb64(payload))
    except (UnicodeError, binascii.Error, ValueError):
        raise RequestError(
            _INVALID, details=[{"field": "query.cursor", "problem": "malformed"}]
        ) from None
    if not isinstance(decoded, dict) or decoded.get("s") != scope:
        raise RequestError(
            "the cursor belongs to another list or other filters",
            details=[{"field": "query.cursor", "problem": "wrong list"}],
        )
    return tuple(decoded["k"])


def paginate(
    items: Sequence[T],
    key: Callable[[T], Key],
    page: PageQuery,
    scope: str,
    *,
    newest_first: bool = False,
) -> tuple[list[T], str | None]:
    """One page of ``items`` in ``key`` order, and the cursor of the next page (or None).

    Args:
        items: every item of the list, as the service returned it.
        key: a total order on the items (end it with the id to break ties).
        page: the requested limit and cursor.
        scope: what the list is (endpoint and filters); a cursor only fits its own list.
        newest_first: descending order of ``key``.

    Raises:
        RequestError: an invalid cursor (400).
    """
    ordered = sorted(items, key=key, reverse=newest_first)
    if page.cursor is not None:
        after = decode_cursor(scope, page.cursor)
        try:
            if newest_first:
                ordered = [item for item in ordered if key(item) < after]
            else:
                ordered = [item for item in ordered if key(item) > after]
        except TypeError:
            raise RequestError(_INVALID) from None
    chunk = ordered[: page.limit]
    more = len(ordered) > page.limit
    return chunk, encode_cursor(scope, key(chunk[-1])) if more and chunk else None


def time_id_after(page: PageQuery, scope: str) -> tuple[dt.datetime, uuid.UUID] | None:
    """The ``(timestamp, id)`` key a newest-first list continues after, for keyset SQL.

    Raises:
        RequestError: an invalid cursor (400).
    """
    if page.cursor is None:
        return None
    key = decode_cursor(scope, page.cursor)
    try:
        stamp, ident = key
        return dt.datetime.fromisoformat(str(stamp)), uuid.UUID(str(ident))
    except (TypeError, ValueError):
        raise RequestError(_INVALID) from None


def time_id_key(stamp: dt.datetime, ident: uuid.UUID) -> Key:
    """The cursor key of an item of a newest-first list (see :func:`time_id_after`)."""
    return (stamp.isoformat(), str(ident))


def page_of(
    rows: Sequence[T], key: Callable[[T], Key], page: PageQuery, scope: str
) -> tuple[list[T], str | None]:
    """One page from rows the database returned after the cursor (``limit + 1`` of them).

    The extra row only tells that another page exists; the cursor continues after the last
    row shown.
    """
    chunk = list(rows[: page.limit])
    more = len(rows) > page.limit
    return chunk, encode_cursor(scope, key(chunk[-1])) if more and chunk else None
