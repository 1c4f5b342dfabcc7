"""Query parameters and page cursors of a search, checked: malformed input is a UserError."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from lims.errors import UserError
from lims.models.search import DOCUMENT_KINDS, REVIEW_STATES, SIGNATURE_STATES
from lims.services.search_request import (
    CONTROL_CHARACTERS,
    DEFAULT_LIMIT,
    SearchFilters,
    SearchRequest,
    parse_text,
)

MAX_LIMIT = 100
MAX_FILTER_VALUES = 20
MAX_VALUE_LENGTH = 200
SORTS = ("relevance", "name", "newest", "oldest", "acquired", "size")


def key_param(sort: str, value: str) -> Any:  # noqa: ANN401 - one of several key types
    """A cursor's sort key as the type of the sort's column (ValueError if it is not)."""
    if sort == "relevance":
        return decimal.Decimal(value)
    if sort in {"newest", "oldest", "acquired"}:
        return dt.datetime.fromisoformat(value)
    if sort == "size":
        return int(value)
    return value


_CURSOR_SALT = b"ctvault-search-cursor-v1"


def encode_cursor(sort: str, value: Any, record_id: uuid.UUID) -> str:  # noqa: ANN401
    """An opaque cursor that continues after the row with this sort key and id."""
    if isinstance(value, dt.datetime):
        key = value.isoformat()
    elif isinstance(value, decimal.Decimal):
        key = format(value, "f")
    else:
        key = str(value)
    payload = json.dumps([sort, key, str(record_id)], separators=(",", ":")).encode()
    check = hashlib.sha256(_CURSOR_SALT + payload).hexdigest()[:16]
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + check


def decode_cursor(cursor: str | None, sort: str) -> tuple[str, uuid.UUID | None]:
    """The sort key and id a cursor continues after; ("", None) for the first page.

    Raises:
        UserError: the cursor was altered, belongs to another sort, or is not a cursor.
    """
    if not cursor:
        return "", None
    invalid = UserError("the page cursor is not valid for this search; start from the first page")
    try:
        encoded, check = cursor.split(".", 1)
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if hashlib.sha256(_CURSOR_SALT + payload).hexdigest()[:16] != check:
            raise invalid
        cursor_sort, key, record_id = json.loads(payload)
        if cursor_sort != sort or not isinstance(key, str):
            raise invalid
        key_param(sort, key)
        return key, uuid.UUID(record_id)
    except (ValueError, TypeError, binascii.Error, decimal.InvalidOperation) as exc:
        raise invalid from exc


def _values(params: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in params.get(name, ()) if v and v.strip())
    if len(values) > MAX_FILTER_VALUES:
        raise UserError(f"at most {MAX_FILTER_VALUES} values for the filter {name!r}")
    for value in values:
        if len(value) > MAX_VALUE_LENGTH or CONTROL_CHARACTERS.search(value):
            raise UserError(f"the filter {name!r} has a value that is too long or not text")
    return values


def _uuids(params: Mapping[str, Sequence[str]], name: str) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(v) for v in _values(params, name))
    except ValueError:
        raise UserError(f"the filter {name!r} takes record ids") from None


def _date(params: Mapping[str, Sequence[str]], name: str) -> dt.date | None:
    values = _values(params, name)
    if not values:
        return None
    try:
        return dt.date.fromisoformat(values[-1])
    except ValueError:
        raise UserError(f"the filter {name!r} takes a date as YYYY-MM-DD") from None


def _choice(params: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str]) -> str:
    values = _values(params, name)
    value = values[-1] if values else ""
    if value and value not in allowed:
        raise UserError(f"{name!r} must be one of: {', '.join(allowed)}")
    return value


def _states(
    params: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str]
) -> tuple[str, ...]:
    values = _values(params, name)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise UserError(f"{name!r} must be among: {', '.join(allowed)}")
    return values


def request_from_params(params: Mapping[str, Sequence[str]]) -> SearchRequest:
    """Build a request from query parameters (each name maps to its list of values).

    Names: ``q``, ``kind``, ``project``, ``sample``, ``modality``, ``instrument``,
    ``operator``, ``signature``, ``review``, ``tag``, ``from``, ``to``, ``retired`` (``1``),
    ``sort``, ``cursor``, ``limit``. Unknown names are ignored.

    Raises:
        UserError: a value is malformed (bad id, date, sort, kind or limit).
    """
    text = params.get("q", [""])
    kinds = _values(params, "kind")
    unknown = [k for k in kinds if k not in DOCUMENT_KINDS]
    if unknown:
        raise UserError(f"'kind' must be among: {', '.join(DOCUMENT_KINDS)}")
    filters = SearchFilters(
        kinds=kinds,
        project_ids=_uuids(params, "project"),
        sample_ids=_uuids(params, "sample"),
        modalities=_values(params, "modality"),
        instruments=_values(params, "instrument"),
        operators=_values(params, "operator"),
        signature_states=_states(params, "signature", SIGNATURE_STATES),
        review_states=_states(params, "review", REVIEW_STATES),
        tags=tuple(t.lower() for t in _values(params, "tag")),
        acquired_from=_date(params, "from"),
        acquired_to=_date(params, "to"),
        include_retired=_choice(params, "retired", ("0", "1")) == "1",
    )
    if (
        filters.acquired_from
        and filters.acquired_to
        and filters.acquired_from > filters.acquired_to
    ):
        raise UserError("the date range ends before it starts")
    limit_text = _choice(params, "limit", [str(n) for n in range(1, MAX_LIMIT + 1)])
    cursor = _values(params, "cursor")
    request = SearchRequest(
        text=text[-1] if text else "",
        filters=filters,
        sort=_choice(params, "sort", SORTS),
        cursor=cursor[-1] if cursor else None,
        limit=int(limit_text) if limit_text else DEFAULT_LIMIT,
    )
    parse_text(request.text)
    return request
