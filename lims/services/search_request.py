"""What a search asks and what it answers: requests, parsed text, hits, facets, pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping

from lims.errors import UserError

MAX_TEXT_LENGTH = 500
DEFAULT_LIMIT = 24
HIGHLIGHT_START, HIGHLIGHT_STOP = "\ue000", "\ue001"
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORDLIKE = re.compile(r"\w")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


@dataclasses.dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrowing conditions; each tuple is "any of", except ``tags`` ("all of")."""

    kinds: tuple[str, ...] = ()
    project_ids: tuple[uuid.UUID, ...] = ()
    sample_ids: tuple[uuid.UUID, ...] = ()
    modalities: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    signature_states: tuple[str, ...] = ()
    review_states: tuple[str, ...] = ()
    acquired_from: dt.date | None = None
    acquired_to: dt.date | None = None
    include_retired: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SearchRequest:
    """What to look for and how to page it (build one with :func:`request_from_params`)."""

    text: str = ""
    filters: SearchFilters = SearchFilters()
    sort: str = ""
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT
    with_facets: bool = True

    @property
    def effective_sort(self) -> str:
        """The sort in force: relevance for a text search, newest first otherwise."""
        if self.sort:
            return self.sort
        return "newest" if parse_text(self.text).is_empty else "relevance"


@dataclasses.dataclass(frozen=True, slots=True)
class SnippetPart:
    """A piece of a snippet; ``is_match`` marks words that matched the search."""

    text: str
    is_match: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Hit:
    """One found record with what a result list shows about it."""

    id: uuid.UUID
    kind: str
    title: str
    context: str
    project_id: uuid.UUID
    sample_id: uuid.UUID | None
    dataset_id: uuid.UUID | None
    latest_version_id: uuid.UUID | None
    latest_number: int | None
    version_count: int
    total_bytes: int
    modality: str | None
    instrument: str | None
    operator: str | None
    acquired_at: dt.datetime | None
    created_at: dt.datetime
    tags: tuple[str, ...]
    status: str | None
    signature_state: str | None
    review_state: str | None
    retired: bool
    rank: float | None
    snippet: tuple[SnippetPart, ...]

    @property
    def snippet_text(self) -> str:
        """The snippet as plain text."""
        return "".join(part.text for part in self.snippet)


@dataclasses.dataclass(frozen=True, slots=True)
class FacetValue:
    """One value of a facet, how it is shown, and how many results have it."""

    value: str
    label: str
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results, the facet counts over all results, and the next page's cursor."""

    hits: tuple[Hit, ...]
    total: int | None
    total_is_capped: bool
    facets: Mapping[str, tuple[FacetValue, ...]]
    next_cursor: str | None
    sort: str
    corrected_text: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedText:
    """The search text split into what the database matches."""

    words: str
    phrases: tuple[str, ...]
    excluded: str
    raw: str

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to match on."""
        return not (self.words or self.phrases)


def parse_text(text: str) -> ParsedText:
    """Split search text into prefix words, exact phrases and excluded words.

    Raises:
        UserError: the text is longer than ``MAX_TEXT_LENGTH`` characters.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise UserError(f"the search text has at most {MAX_TEXT_LENGTH} characters")
    clean = CONTROL_CHARACTERS.sub(" ", text).strip()
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    for negated, phrase, word in _TOKEN.findall(clean):
        if not _WORDLIKE.search(phrase + word):
            continue  # punctuation alone matches nothing
        if phrase.strip():
            (excluded if negated else phrases).append(phrase.strip())
        elif word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        elif word:
            words.append(word.replace('"', " "))
    return ParsedText(" ".join(words), tuple(phrases), " ".join(excluded), clean)


def split_highlights(headline: str) -> tuple[SnippetPart, ...]:
    """Split ``ts_headline`` output at its highlight markers."""
    parts: list[SnippetPart] = []
    for index, piece in enumerate(re.split(f"[{HIGHLIGHT_START}{HIGHLIGHT_STOP}]", headline)):
        if piece:
            parts.append(SnippetPart(" ".join(piece.split("\n")), index % 2 == 1))
    return tuple(parts)
