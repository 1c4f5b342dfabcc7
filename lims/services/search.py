"""Search and catalogue listing over the search documents: ranked, filtered, faceted, paged.

One entry point, :func:`search`, serves the search page, the catalogue grid and table, and
``/api/v1/search``. The text is parsed into bind parameters (never into SQL): plain words
match as prefixes, ``"quoted phrases"`` match in order, ``-word`` excludes; parts of codes
match as substrings of names, and unknown words are corrected against the indexed words
when nothing matches exactly. Every query carries the caller's project filter in SQL. Pages
are keyset pages: the cursor holds the last row's sort key. Requests and answers are in
:mod:`lims.services.search_request`, parameter and cursor checks in
:mod:`lims.services.search_params`; both are re-exported here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    and_,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from audit import EventDraft
from lims.auth.identity import Identity
from lims.auth.roles import Permission, Role, permissions_of
from lims.errors import UserError
from lims.models import Project, SearchDocument
from lims.models.search import SearchWord
from lims.services.context import ServiceContext
from lims.services.search_params import (
    MAX_FILTER_VALUES,
    MAX_LIMIT,
    MAX_VALUE_LENGTH,
    SORTS,
    decode_cursor,
    encode_cursor,
    key_param,
    request_from_params,
)
from lims.services.search_request import (
    DEFAULT_LIMIT,
    HIGHLIGHT_START,
    HIGHLIGHT_STOP,
    MAX_TEXT_LENGTH,
    FacetValue,
    Hit,
    ParsedText,
    SearchFilters,
    SearchPage,
    SearchRequest,
    SnippetPart,
    parse_text,
    split_highlights,
)

__all__ = [
    "DEFAULT_LIMIT",
    "FACETS",
    "MATCH_CAP",
    "MAX_FILTER_VALUES",
    "MAX_LIMIT",
    "MAX_TEXT_LENGTH",
    "MAX_VALUE_LENGTH",
    "SORTS",
    "FacetValue",
    "Hit",
    "ParsedText",
    "SearchFilters",
    "SearchPage",
    "SearchRequest",
    "SnippetPart",
    "decode_cursor",
    "encode_cursor",
    "is_inspector",
    "parse_text",
    "request_from_params",
    "search",
    "split_highlights",
    "visible_projects",
]

FACET_SIZE = 15
TYPO_SIMILARITY = 0.25
# Counting and ranking stop at this many matches: broad searches stay fast (p95 under
# 50 ms at 100,000 datasets), and a total above it is shown as "4,000+" with a hint to
# narrow the search (docs/search.md).
MATCH_CAP = 4_000
FACETS = ("kind", "project", "modality", "instrument", "operator", "signature", "review", "tag")
_HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=24, MinWords=8, "
    "MaxFragments=2, FragmentDelimiter= … "
)
_DOC = SearchDocument.__table__.c


@dataclasses.dataclass(frozen=True, slots=True)
class _TextMatch:
    """SQL for the text: the match condition and its score."""

    exact: ColumnElement[bool]
    score: ColumnElement[Any]


_IDENTIFIER = re.compile(r"[\d_.:/-]")


def _text_match(parsed: ParsedText) -> _TextMatch | None:
    """The conditions for the text, or None when there is no text."""
    if parsed.is_empty:
        return None
    parts: list[ColumnElement[Any]] = []
    if parsed.words:
        parts.append(func.ctvault_prefix_tsquery(parsed.words))
    parts.extend(
        func.phraseto_tsquery("simple", func.ctvault_words(phrase)) for phrase in parsed.phrases
    )
    query = parts[0]
    for part in parts[1:]:
        query = query.op("&&")(part)
    excluded = func.plainto_tsquery("simple", func.ctvault_words(parsed.excluded))
    if parsed.excluded:
        query = query.op("&&")(func.tsquery_not(excluded))
    exact: ColumnElement[bool] = _DOC.tsv.bool_op("@@")(query)
    score: ColumnElement[Any] = func.ts_rank_cd(_DOC.tsv, query, 32)
    plain = " ".join([parsed.words, *parsed.phrases]).strip()
    if len(plain) >= 3 and _IDENTIFIER.search(plain):  # noqa: PLR2004 - a trigram's length
        # Part of a sample code or file name ("M-01"): a substring of the names.
        not_excluded = ~_DOC.tsv.bool_op("@@")(excluded) if parsed.excluded else true()
        like = "%" + re.sub(r"([\\%_])", r"\\\1", plain) + "%"
        exact = or_(exact, and_(_DOC.ident.ilike(like), not_excluded))
    return _TextMatch(exact, _rounded(score))


def _rounded(score: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.round(func.cast(score, Numeric()), 6)


def is_inspector(identity: Identity) -> bool:
    """True for a read-only inspector: an auditor and nothing else (DI-10)."""
    project_roles = set().union(*identity.project_roles.values())
    return identity.roles == frozenset({Role.AUDITOR}) and project_roles <= {Role.AUDITOR}


def visible_projects(identity: Identity) -> frozenset[uuid.UUID] | None:
    """The project ids the identity may read, or None when it may read every project."""
    if identity.sees_all_projects():
        return None
    return frozenset(
        pid
        for pid, roles in identity.project_roles.items()
        if Permission.CATALOGUE_READ in permissions_of(roles)
    )


def _filter_conditions(identity: Identity, filters: SearchFilters) -> list[ColumnElement[bool]]:
    visible = visible_projects(identity)
    conditions: list[ColumnElement[bool]] = []
    if visible is not None:
        conditions.append(_DOC.project_id.in_(visible) if visible else false())
    if not filters.include_retired:
        conditions.append(_DOC.retired.is_(false()))
    for column, values in (
        (_DOC.kind, filters.kinds),
        (_DOC.project_id, filters.project_ids),
        (_DOC.sample_id, filters.sample_ids),
        (_DOC.modality, filters.modalities),
        (_DOC.instrument, filters.instruments),
        (_DOC.operator, filters.operators),
        (_DOC.signature_state, filters.signature_states),
        (_DOC.review_state, filters.review_states),
    ):
        if values:
            conditions.append(column.in_(values))
    if filters.tags:
        conditions.append(_DOC.tags.contains(list(filters.tags)))
    if filters.acquired_from is not None:
        conditions.append(_DOC.acquired_at >= _midnight(filters.acquired_from))
    if filters.acquired_to is not None:
        conditions.append(_DOC.acquired_at < _midnight(filters.acquired_to + dt.timedelta(days=1)))
    return conditions


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


_SORT_KEYS: dict[str, tuple[str, bool]] = {
    "relevance": ("score", False),
    "name": ("sort_name", True),
    "newest": ("created_at", False),
    "oldest": ("created_at", True),
    "acquired": ("acquired_at", False),
    "size": ("total_bytes", False),
}


def search(ctx: ServiceContext, request: SearchRequest) -> SearchPage:
    """Find records the caller may see, best or newest first, one keyset page at a time.

    Args:
        ctx: the caller (only projects it may read are searched).
        request: text, filters, sort, cursor and page size.

    Returns:
        The page of hits, facet counts over all matches (if asked), the next cursor.

    Raises:
        UserError: the sort needs text, or the cursor is not one this search gave out.
    """
    identity = ctx.require_identity()
    sort = request.effective_sort
    parsed = parse_text(request.text)
    if sort == "relevance" and parsed.is_empty:
        raise UserError("sorting by relevance needs search text")
    session = ctx.uow.session
    conditions = _filter_conditions(identity, request.filters)
    score: ColumnElement[Any] = literal(None)
    corrected: str | None = None
    if not parsed.is_empty:
        conditions, score, parsed, corrected = _with_text(session, conditions, parsed)
    key_value, key_id = decode_cursor(request.cursor, sort)
    key_name, ascending = _SORT_KEYS[sort]
    key = score if sort == "relevance" else _DOC[key_name]
    bound = (
        tuple_(literal(key_param(sort, key_value)), literal(key_id)) if key_id is not None else None
    )
    # Later pages keep the first page's facets: counting is the expensive part.
    wants_facets = request.with_facets and key_id is None
    # The matches (capped) are read once, into a materialized CTE, for ranking and counting.
    matches = (
        select(_DOC.id, key.label("key"), *_FACET_COLUMNS.values(), _DOC.tags)
        .where(*conditions)
        .limit(MATCH_CAP + 1)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    if sort == "relevance":
        ranked = select(matches.c.id, matches.c.key)
        if bound is not None:
            ranked = ranked.where(tuple_(matches.c.key, matches.c.id) < bound)
        page = ranked.order_by(matches.c.key.desc(), matches.c.id.desc())
    else:
        # Other sorts walk an index over every match, not only the first MATCH_CAP.
        page = select(_DOC.id, key.label("key")).where(*conditions)
        if bound is not None:
            position = tuple_(key, _DOC.id)
            page = page.where(position > bound if ascending else position < bound)
        page = page.order_by(
            *((key.asc(), _DOC.id.asc()) if ascending else (key.desc(), _DOC.id.desc()))
        )
    listed = page.limit(request.limit + 1).subquery("page")
    columns = [
        select(func.json_agg(literal_column("page"))).select_from(listed).scalar_subquery(),
        *(_facet_counts(matches) if wants_facets else ()),
    ]
    found, *counted = session.execute(select(*columns)).one()
    order = [(uuid.UUID(item["id"]), item["key"]) for item in found or []]
    more = len(order) > request.limit
    order = order[: request.limit]
    rows = _page_rows(session, order, parsed)
    next_cursor = encode_cursor(sort, rows[-1]["key"], rows[-1]["id"]) if more else None
    total, facets = _read_facets(session, *counted) if wants_facets else (None, {})
    hits = tuple(_hit(row, ranked=sort == "relevance") for row in rows)
    over = total is not None and total > MATCH_CAP
    shown = min(total, MATCH_CAP) if total is not None else None
    if is_inspector(identity):
        # What an inspector looks at is itself on the record (DI-10).
        ctx.audit(
            EventDraft(
                "search.view",
                "user",
                str(identity.user_id),
                {
                    "text": request.text,
                    "filters": _described(request.filters),
                    "sort": sort,
                    "page_after": request.cursor or "",
                    "results": [str(h.id) for h in hits],
                },
            )
        )
    return SearchPage(hits, shown, over, facets, next_cursor, sort, corrected)


def _described(filters: SearchFilters) -> dict[str, Any]:
    """The filters in force, as JSON values for the audit trail."""
    return {
        field.name: [str(v) for v in value] if isinstance(value, tuple) else str(value)
        for field in dataclasses.fields(filters)
        if (value := getattr(filters, field.name)) not in ((), None, False)
    }


def _page_rows(
    session: Session, order: list[tuple[uuid.UUID, Any]], parsed: ParsedText
) -> list[dict[str, Any]]:
    """The wide rows of one page (with snippets), in page order, with their sort keys."""
    if not order:
        return []
    found = {
        row["id"]: dict(row)
        for row in session.execute(
            select(*SearchDocument.__table__.c, _headline(parsed)).where(
                _DOC.id.in_([record_id for record_id, _ in order])
            )
        ).mappings()
    }
    return [{**found[record_id], "key": key} for record_id, key in order if record_id in found]


def _with_text(
    session: Session, conditions: list[ColumnElement[bool]], parsed: ParsedText
) -> tuple[list[ColumnElement[bool]], ColumnElement[Any], ParsedText, str | None]:
    """Exact matches if there are any; otherwise the text with typos corrected.

    Returns the conditions, the score, the text matched and the corrected text (if used).
    """
    text = _text_match(parsed)
    assert text is not None  # noqa: S101 - the caller checked for text
    exact = [*conditions, text.exact]
    if not parsed.words or session.scalar(
        select(literal(1)).select_from(SearchDocument).where(*exact).limit(1)
    ):
        return exact, text.score, parsed, None
    corrected = _correct(session, parsed.words)
    if corrected is None:
        return exact, text.score, parsed, None
    fixed = dataclasses.replace(parsed, words=corrected)
    better = _text_match(fixed)
    assert better is not None  # noqa: S101 - corrected words are words
    return [*conditions, better.exact], better.score, fixed, corrected


def _correct(session: Session, words: str) -> str | None:
    """The words with each unknown one replaced by the most similar indexed word, if any."""
    lexeme = (
        func.unnest(func.to_tsvector("simple", func.ctvault_words(words)))
        .table_valued("lexeme")
        .render_derived(name="q")
    )
    best = (
        select(SearchWord.word)
        .where(SearchWord.word.bool_op("%")(lexeme.c.lexeme))
        # A typo drops or swaps letters more often than it adds them: prefer words at least
        # as long as the one typed ("femr" -> "femur", not "fem").
        .order_by(
            (func.length(SearchWord.word) >= func.length(lexeme.c.lexeme)).desc(),
            func.similarity(SearchWord.word, lexeme.c.lexeme).desc(),
            SearchWord.word,
        )
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        select(func.set_config("pg_trgm.similarity_threshold", str(TYPO_SIMILARITY), true()))
    )
    pairs = session.execute(select(lexeme.c.lexeme, best)).all()
    if not pairs or all(found in (None, typed) for typed, found in pairs):
        return None
    return " ".join(found or typed for typed, found in pairs)


def _headline(parsed: ParsedText) -> ColumnElement[Any]:
    if parsed.is_empty:
        return literal("").label("headline")
    text = " ".join([parsed.words, *parsed.phrases])
    query = func.plainto_tsquery("simple", func.ctvault_words(text))
    return func.ts_headline("simple", _DOC.body, query, _HEADLINE_OPTIONS).label("headline")


def _hit(row: Mapping[str, Any], *, ranked: bool) -> Hit:
    return Hit(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        context=row["context"],
        project_id=row["project_id"],
        sample_id=row["sample_id"],
        dataset_id=row["dataset_id"],
        latest_version_id=row["latest_version_id"],
        latest_number=row["latest_number"],
        version_count=row["version_count"],
        total_bytes=row["total_bytes"],
        modality=row["modality"],
        instrument=row["instrument"],
        operator=row["operator"],
        acquired_at=row["acquired_at"],
        created_at=row["created_at"],
        tags=tuple(row["tags"] or ()),
        status=row["status"],
        signature_state=row["signature_state"],
        review_state=row["review_state"],
        retired=row["retired"],
        rank=float(row["key"]) if ranked else None,
        snippet=split_highlights(row["headline"] or ""),
    )


_FACET_COLUMNS = {
    "kind": _DOC.kind,
    "project": _DOC.project_id,
    "modality": _DOC.modality,
    "instrument": _DOC.instrument,
    "operator": _DOC.operator,
    "signature": _DOC.signature_state,
    "review": _DOC.review_state,
}


def _facet_counts(matches: Any) -> tuple[Any, Any]:  # noqa: ANN401 - a CTE
    """Scalar subqueries: grouped counts (with the total) and the top tags, as JSON."""
    columns = [matches.c[c.name].label(name) for name, c in _FACET_COLUMNS.items()]
    grouped = (
        select(
            *columns,
            func.count().label("n"),
            *(func.grouping(matches.c[c.name]).label(f"g_{n}") for n, c in _FACET_COLUMNS.items()),
        )
        .group_by(func.grouping_sets(*[tuple_(c.element) for c in columns], tuple_()))
        .subquery("g")
    )
    tag = func.unnest(matches.c.tags).table_valued("value").render_derived(name="tag")
    tagged = (
        select(tag.c.value, func.count().label("n"))
        .select_from(matches)
        .join(tag, true())
        .group_by(tag.c.value)
        .order_by(func.count().desc(), tag.c.value)
        .limit(FACET_SIZE)
        .subquery("t")
    )
    return (
        select(func.json_agg(literal_column("g"))).select_from(grouped).scalar_subquery(),
        select(func.json_agg(literal_column("t"))).select_from(tagged).scalar_subquery(),
    )


def _read_facets(
    session: Session, groups: list[dict[str, Any]] | None, tag_rows: list[dict[str, Any]] | None
) -> tuple[int, dict[str, tuple[FacetValue, ...]]]:
    """Total and facet values from the JSON of :func:`_facet_counts`."""
    counts: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
    total = 0
    for row in groups or []:
        if all(row[f"g_{name}"] for name in _FACET_COLUMNS):
            total = row["n"]
            continue
        name = next(n for n in _FACET_COLUMNS if not row[f"g_{n}"])
        if row[name] is not None:
            counts[name].append((str(row[name]), row["n"]))
    counts["tag"] = [(row["value"], row["n"]) for row in tag_rows or []]
    names = _project_names(session, [uuid.UUID(v) for v, _ in counts["project"]])
    facets = {
        name: tuple(
            FacetValue(v, names.get(v, v) if name == "project" else v, n)
            for v, n in sorted(values, key=lambda item: (-item[1], item[0]))[:FACET_SIZE]
        )
        for name, values in counts.items()
    }
    return total, facets


def _project_names(session: Session, ids: list[uuid.UUID]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Project.id, Project.name).where(Project.id.in_(ids)))
    return {str(pid): name for pid, name in rows}
