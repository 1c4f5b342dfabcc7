"""Where a notification's record is shown: one page per record type."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from lims.models import Notification

# record type -> (endpoint, name of its id argument); a type without a page has no link.
RECORD_PAGES: dict[str, tuple[str, str]] = {
    "run": ("runs.run_page", "run_id"),
    "analysis": ("analyses.analysis_page", "analysis_id"),
    "report": ("reports.report_page", "report_id"),
    "version": ("catalogue.version", "version_id"),
    "dataset_version": ("catalogue.version", "version_id"),
    "dataset": ("catalogue.dataset", "dataset_id"),
}


def record_link(notification: Notification) -> str | None:
    """The page of the record a notification is about, when there is one."""
    page = RECORD_PAGES.get(notification.object_type)
    if page is None:
        return None
    endpoint, argument = page
    values: dict[str, Any] = {argument: notification.object_id}
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None
