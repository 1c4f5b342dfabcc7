"""Search page: ranked results with highlighted snippets, facets, saved searches."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import PermissionDeniedError, UserError
from lims.services import saved_searches
from lims.services.search import SearchPage, request_from_params, search
from lims.web import context
from lims.web.errors import status_for
from lims.web.search.links import TEMPLATE_HELPERS

blueprint = Blueprint("search", __name__, template_folder="templates")

Page = tuple[str, int]
MAX_SAVED_QUERY = 4000


def _render(error: str | None = None, status: int = 200) -> Page:
    ctx = context.service_context()
    page: SearchPage | None = None
    if error is None:
        try:
            page = search(ctx, request_from_params(request.args.to_dict(flat=False)))
        except UserError as exc:
            error, status = str(exc), status_for(exc)
    html = render_template(
        "search/search.html",
        page=page,
        text=request.args.get("q", ""),
        search_error=error,
        saved=saved_searches.list_saved(ctx),
        **TEMPLATE_HELPERS,
    )
    return html, status


@blueprint.get("/search")
def results() -> Page:
    """Search everything the user may see; a malformed query is a 400 with the reason."""
    return _render()


@blueprint.post("/search/saved")
def save() -> BaseResponse | Page:
    """Save the current search under a name."""
    query = request.form.get("query", "")[:MAX_SAVED_QUERY]
    params = parse_qs(query, keep_blank_values=False)
    try:
        saved = saved_searches.save_search(
            context.service_context(), request.form.get("name", ""), params
        )
    except PermissionDeniedError:
        raise
    except UserError as exc:
        context.rollback()
        flash(f"The search was not saved: {exc}", "error")
        return redirect(url_for("search.results") + ("?" + query if query else ""))
    flash(f"Search saved as {saved.name!r}.", "success")
    return redirect(url_for("search.open_saved", saved_id=saved.id))


@blueprint.get("/search/saved/<uuid:saved_id>")
def open_saved(saved_id: uuid.UUID) -> BaseResponse:
    """Run a saved search (its parameters go into the search URL)."""
    saved = saved_searches.get_saved(context.service_context(), saved_id)
    return redirect(url_for("search.results", **saved.query))


@blueprint.post("/search/saved/<uuid:saved_id>/delete")
def delete(saved_id: uuid.UUID) -> BaseResponse:
    """Delete one of the user's saved searches."""
    saved_searches.delete_saved(context.service_context(), saved_id)
    flash("Saved search deleted.", "success")
    return redirect(url_for("search.results"))
