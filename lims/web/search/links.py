"""Links of the search and catalogue pages: the current query with one thing changed."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from lims.services.search import Hit

FILTER_NAMES = {
    "kind": "kind",
    "project": "project",
    "modality": "modality",
    "instrument": "instrument",
    "operator": "operator",
    "tag": "tag",
}


def current_params() -> dict[str, list[str]]:
    """The request's query parameters, without the page cursor."""
    params = request.args.to_dict(flat=False)
    params.pop("cursor", None)
    return {k: [v for v in values if v] for k, values in params.items() if k != "cursor"}


def _url(params: dict[str, list[str]]) -> str:
    return request.path + ("?" + urlencode(params, doseq=True) if params else "")


def toggled(name: str, value: str) -> str:
    """The current URL with ``value`` added to or removed from filter ``name``."""
    params = current_params()
    values = params.get(name, [])
    params[name] = [v for v in values if v != value] if value in values else [*values, value]
    return _url({k: v for k, v in params.items() if v})


def is_on(name: str, value: str) -> bool:
    """True when filter ``name`` has ``value`` in the current URL."""
    return value in request.args.getlist(name)


def with_value(name: str, value: str | None) -> str:
    """The current URL with ``name`` set to one value (or removed)."""
    params = current_params()
    params.pop(name, None)
    if value:
        params[name] = [value]
    return _url(params)


def next_page(cursor: str) -> str:
    """The current URL continued after ``cursor``."""
    params = current_params()
    params["cursor"] = [cursor]
    return _url(params)


def query_string() -> str:
    """The current search as a query string (what a saved search stores)."""
    return urlencode(current_params(), doseq=True)


def hit_endpoint(hit: Hit) -> tuple[str, dict[str, object]]:
    """Endpoint and arguments of the page of a found record."""
    if hit.kind == "dataset":
        return "catalogue.dataset", {"dataset_id": hit.id}
    if hit.kind == "sample":
        return "catalogue.sample", {"sample_id": hit.id}
    if hit.kind == "analysis":
        return "analyses.analysis_page", {"analysis_id": hit.id}
    if hit.kind == "run":
        return "runs.run_page", {"run_id": hit.id}
    return "catalogue.project", {"project_id": hit.id}


TEMPLATE_HELPERS = {
    "toggled": toggled,
    "is_on": is_on,
    "with_value": with_value,
    "next_page": next_page,
    "query_string": query_string,
    "hit_endpoint": hit_endpoint,
}
