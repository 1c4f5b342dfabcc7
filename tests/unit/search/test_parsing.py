"""Pure parts of search: text parsing, cursors, highlight splitting, tag labels."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from lims.errors import UserError
from lims.services.search import (
    HIGHLIGHT_START,
    HIGHLIGHT_STOP,
    decode_cursor,
    encode_cursor,
    parse_text,
    split_highlights,
)
from lims.services.tags import clean_label


def test_words_phrases_and_exclusions() -> None:
    parsed = parse_text('femur "ring artefacts" -tibia -"old scan" FEM-012')
    assert parsed.words == "femur FEM-012"
    assert parsed.phrases == ("ring artefacts",)
    assert parsed.excluded == "tibia old scan"
    assert not parsed.is_empty


@pytest.mark.parametrize("text", ["", "   ", '""', "-", "\x00\x01"])
def test_nothing_to_match(text: str) -> None:
    assert parse_text(text).is_empty


def test_control_characters_are_dropped() -> None:
    assert parse_text("fe\x00mur").words == "fe mur"


def test_long_text_is_refused() -> None:
    with pytest.raises(UserError, match="at most 500"):
        parse_text("x" * 501)


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("name", "femur raw scan"),
        ("newest", dt.datetime(2025, 3, 2, 10, tzinfo=dt.UTC)),
        ("size", 123456789),
        ("relevance", decimal.Decimal("0.123456")),
    ],
    ids=["name", "time", "size", "rank"],
)
def test_cursor_round_trip(sort: str, value: object) -> None:
    record = uuid.uuid4()
    key, found = decode_cursor(encode_cursor(sort, value, record), sort)
    assert found == record
    assert key


def test_altered_cursor_is_refused() -> None:
    cursor = encode_cursor("name", "a", uuid.uuid4())
    body, check = cursor.split(".")
    with pytest.raises(UserError, match="not valid"):
        decode_cursor(body[:-2] + "AA." + check, "name")
    with pytest.raises(UserError, match="not valid"):
        decode_cursor(cursor, "size")


def test_highlights_split_into_parts() -> None:
    parts = split_highlights(f"a {HIGHLIGHT_START}femur{HIGHLIGHT_STOP} scan")
    assert [(p.text, p.is_match) for p in parts] == [
        ("a ", False),
        ("femur", True),
        (" scan", False),
    ]


@pytest.mark.parametrize(
    ("raw", "clean"), [("  QA  Hold ", "qa hold"), ("v2.1", "v2.1"), ("Ø-ring", "ø-ring")]
)
def test_tag_labels_are_normalised(raw: str, clean: str) -> None:
    assert clean_label(raw) == clean


@pytest.mark.parametrize("raw", ["", "<b>", "x" * 61, "-lead"])
def test_bad_tag_labels_are_refused(raw: str) -> None:
    with pytest.raises(UserError):
        clean_label(raw)
