"""Template filters: sizes, times with their zone, digests."""

from __future__ import annotations

import datetime as dt

import pytest

from lims.web.filters import filesize, plural, short_digest, utc


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1500, "1.5 kB"),
        (2_034_000_000, "2.03 GB"),
        (123_456_789, "123 MB"),
        (None, "-"),
    ],
)
def test_filesize(size: int | None, shown: str) -> None:
    assert filesize(size) == shown


def test_times_are_shown_in_utc_with_their_zone() -> None:
    moment = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc(moment) == "2025-01-02 01:04:05 UTC"
    with pytest.raises(ValueError, match="naive"):
        utc(dt.datetime(2025, 1, 2))  # noqa: DTZ001 - the point of the test


def test_short_digest_and_plural() -> None:
    assert short_digest("a" * 64) == "a" * 12 + "…"
    assert plural(1, "file") == "1 file"
    assert plural(2, "file") == "2 files"
