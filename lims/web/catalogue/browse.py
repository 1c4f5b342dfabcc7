"""The dataset catalogue: a thumbnail grid or a table, filtered, sorted, keyset-paged."""

from __future__ import annotations

import dataclasses

from flask import render_template, request

from lims.errors import UserError
from lims.services import viewing
from lims.services.search import SearchFilters, SearchPage, request_from_params, search
from lims.web import context
from lims.web.errors import status_for
from lims.web.search.links import TEMPLATE_HELPERS

VIEWS = ("grid", "table")
Page = tuple[str, int]


def catalogue_page() -> Page:
    """Datasets the user may see; a malformed filter is a 400 with the reason."""
    ctx = context.service_context()
    view = request.args.get("view", "grid")
    page: SearchPage | None = None
    error: str | None = None
    status = 200
    if view not in VIEWS:
        error, status = "'view' must be grid or table", 400
    try:
        wanted = request_from_params(request.args.to_dict(flat=False))
        filters = dataclasses.replace(wanted.filters, kinds=("dataset",))
        if error is None:
            page = search(ctx, dataclasses.replace(wanted, filters=filters))
    except UserError as exc:
        error, status = str(exc), status_for(exc)
    versions = [h.latest_version_id for h in page.hits if h.latest_version_id] if page else []
    html = render_template(
        "catalogue/catalogue.html",
        page=page,
        view=view if view in VIEWS else "grid",
        search_error=error,
        text=request.args.get("q", ""),
        thumbnails=viewing.thumbnails_of(ctx, versions),
        hidden_facets=("kind",),
        empty_filters=SearchFilters(),
        **TEMPLATE_HELPERS,
    )
    return html, status
