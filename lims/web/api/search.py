"""Search across everything the caller may see: ranked hits, snippets, facets, keyset pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any, Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from lims.services import search
from lims.web import context
from lims.web.api.pagination import decode_cursor, encode_cursor
from lims.web.api.parsing import parse_query, render
from lims.web.api.routing import operation
from lims.web.api.schemas import Text

TAG = "search"
Kind = Literal["project", "sample", "dataset", "run"]
Sort = Literal["relevance", "name", "newest", "oldest", "acquired", "size"]
Values: Any = Field(default_factory=list, max_length=search.MAX_FILTER_VALUES)


class SearchQuery(BaseModel):
    """Text and filters; a list filter is given by repeating it (``?kind=a&kind=b``)."""

    model_config = ConfigDict(extra="forbid")

    q: Text = Field(
        "",
        max_length=search.MAX_TEXT_LENGTH,
        description='Words (prefix match, typo-tolerant), "quoted phrases", -excluded words.',
    )
    kind: list[Kind] = Values
    project: list[uuid.UUID] = Values
    sample: list[uuid.UUID] = Values
    modality: list[Text] = Values
    instrument: list[Text] = Values
    operator: list[Text] = Values
    tag: list[Text] = Values
    acquired_from: dt.date | None = Field(None, description="Acquired on or after (YYYY-MM-DD).")
    acquired_to: dt.date | None = Field(None, description="Acquired on or before (YYYY-MM-DD).")
    retired: bool = Field(default=False, description="Include retired records.")
    sort: Sort | None = Field(None, description="Default: relevance with text, else newest.")
    facets: bool = Field(default=True, description="Count facet values over all matches.")
    limit: int = Field(search.DEFAULT_LIMIT, ge=1, le=search.MAX_LIMIT)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the last page.")


class SnippetPartOut(BaseModel):
    """A piece of a snippet; ``match`` marks the words that matched."""

    text: str
    match: bool


class HitOut(BaseModel):
    """One found record, with what a result list shows about it."""

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
    tags: list[str]
    status: str | None
    retired: bool
    rank: float | None
    snippet: list[SnippetPartOut]

    @classmethod
    def of(cls, hit: search.Hit) -> HitOut:
        """The API view of a search hit."""
        return cls(
            snippet=[SnippetPartOut(text=p.text, match=p.is_match) for p in hit.snippet],
            tags=list(hit.tags),
            **{
                name: getattr(hit, name)
                for name in cls.model_fields
                if name not in {"snippet", "tags"}
            },
        )


class FacetOut(BaseModel):
    """One value of a facet and how many matches have it."""

    value: str
    label: str
    count: int


class SearchOut(BaseModel):
    """One page of hits, facet counts over all matches, and the next page's cursor."""

    items: list[HitOut]
    total: int | None
    facets: dict[str, list[FacetOut]]
    sort: str
    next_cursor: str | None


def _params(query: SearchQuery, inner_cursor: str | None) -> dict[str, list[str]]:
    """The query as the search service reads query parameters."""
    params: dict[str, list[str]] = {
        "q": [query.q],
        "kind": list(query.kind),
        "project": [str(p) for p in query.project],
        "sample": [str(s) for s in query.sample],
        "modality": query.modality,
        "instrument": query.instrument,
        "operator": query.operator,
        "tag": query.tag,
        "from": [query.acquired_from.isoformat()] if query.acquired_from else [],
        "to": [query.acquired_to.isoformat()] if query.acquired_to else [],
        "retired": ["1" if query.retired else "0"],
        "sort": [query.sort] if query.sort else [],
        "limit": [str(query.limit)],
    }
    if inner_cursor:
        params["cursor"] = [inner_cursor]
    return params


@operation("/search", tag=TAG, response=SearchOut, query=SearchQuery, errors=(400, 422))
def search_everything() -> Response:
    """Search projects, samples, datasets and runs you may see.

    Ranked by relevance for text (highlighted snippets), or sorted; facet counts next to the
    filters; keyset pages.
    """
    query = parse_query(SearchQuery)
    scope = "search:" + json.dumps(
        query.model_dump(mode="json", exclude={"cursor", "limit", "facets"}), sort_keys=True
    )
    inner = str(decode_cursor(scope, query.cursor)[0]) if query.cursor else None
    request = search.request_from_params(_params(query, inner))
    if not query.facets:
        request = dataclasses.replace(request, with_facets=False)
    page = search.search(context.service_context(), request)
    return render(
        SearchOut(
            items=[HitOut.of(hit) for hit in page.hits],
            total=page.total,
            facets={
                name: [FacetOut(value=v.value, label=v.label, count=v.count) for v in values]
                for name, values in page.facets.items()
            },
            sort=page.sort,
            next_cursor=encode_cursor(scope, (page.next_cursor,)) if page.next_cursor else None,
        )
    )
