"""The audit page's query string: parse it into an ``AuditFilter``, and echo it back."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from audit.query import AuditFilter
from lims.errors import UserError

FIELDS = ("actor", "action", "object_type", "object_id", "since", "until")
FIELD_LENGTH = 300
# What the object type select offers (the audit trail's object types so far).
OBJECT_TYPES = (
    ("project", "Project"),
    ("sample", "Sample"),
    ("dataset", "Dataset"),
    ("dataset_version", "Dataset version"),
    ("version_file", "Stored file"),
    ("user", "User"),
    ("audit_trail", "Audit trail"),
)
_INPUT_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_time(raw: str, label: str) -> dt.datetime | None:
    """A date and time from the form, read as UTC unless it names its own offset.

    Raises:
        UserError: not a date and time.
    """
    text = raw.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{label}: {text!r} is not a date and time (use YYYY-MM-DD HH:MM, in UTC)"
        raise UserError(msg) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class FilterForm:
    """The filter as parsed from the query string, plus what to show back in the inputs."""

    criteria: AuditFilter
    values: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        """The non-empty filter parameters, for export and paging links."""
        return {key: value for key, value in self.values.items() if value}


def _input_value(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime(_INPUT_FORMAT)


def parse_filter(args: Mapping[str, str]) -> FilterForm:
    """The filter of a request's query string.

    Raises:
        UserError: a field is too long or a time cannot be read.
    """
    raw = {key: (args.get(key) or "").strip() for key in FIELDS}
    for key, value in raw.items():
        if len(value) > FIELD_LENGTH:
            raise UserError(f"the {key.replace('_', ' ')} filter is too long")
    since = parse_time(raw["since"], "From")
    until = parse_time(raw["until"], "To")
    if since and until and until <= since:
        raise UserError("To must be later than From")
    criteria = AuditFilter(
        actor=raw["actor"],
        action=raw["action"],
        object_type=raw["object_type"],
        object_id=raw["object_id"],
        since=since,
        until=until,
    )
    values = {**raw, "since": _input_value(since), "until": _input_value(until)}
    return FilterForm(criteria=criteria, values=values)


def page_number(raw: str | None) -> int:
    """A page number from the query string (1 for anything that is not a positive integer)."""
    try:
        return max(int(raw or "1"), 1)
    except ValueError:
        return 1
