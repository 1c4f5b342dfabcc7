"""The one source of time in Python code: UTC, time-zone aware (invariant 6)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> dt.datetime:
        """Return the current time, UTC, time-zone aware."""
        ...


class SystemClock:
    """The machine's clock, always in UTC."""

    def now(self) -> dt.datetime:
        """Return the current time, UTC, time-zone aware."""
        return dt.datetime.now(dt.UTC)


def utc_iso(moment: dt.datetime) -> str:
    """Format a time as ISO 8601 in UTC with an explicit offset (``+00:00``)."""
    if moment.tzinfo is None:
        msg = "naive datetime: every time in ctvault carries a zone"
        raise ValueError(msg)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
