"""The audit trail page: filter, page through, export exactly the filter, verify the chain.

Only holders of ``audit.review`` (reviewers, auditors, administrators) may review the whole
trail; the services refuse anyone else with PermissionDeniedError, the friendly 403 page.
Exports are audited: the export event is committed before the first byte leaves, so a
download that fails half-way is still on record.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from flask import Blueprint, Response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from audit.query import EventView
from audit.verify import ChainReport
from lims.auth.roles import Permission
from lims.errors import UserError
from lims.services import access, audit_trail
from lims.web import context
from lims.web.audit_trail.query import OBJECT_TYPES, FilterForm, page_number, parse_filter
from lims.web.records.trail import SEGMENTS

blueprint = Blueprint("audit", __name__, template_folder="templates", url_prefix="/audit")

PER_PAGE = 50
_RECORD_ENDPOINTS = {
    "project": ("catalogue.project", "project_id"),
    "sample": ("catalogue.sample", "sample_id"),
    "dataset": ("catalogue.dataset", "dataset_id"),
    "dataset_version": ("catalogue.version", "version_id"),
}


def _page(
    form: FilterForm | None, *, error: str | None = None, report: ChainReport | None = None
) -> tuple[str, int]:
    ctx = context.service_context()
    page = page_number(request.args.get("page"))
    events: list[EventView] = []
    total = 0
    if form is None:
        access.check(ctx, Permission.AUDIT_REVIEW)
    else:
        events, total = audit_trail.search_audit(ctx, form.criteria, page=page, per_page=PER_PAGE)
    body = render_template(
        "audit/trail.html",
        events=events,
        total=total,
        page=page,
        pages=max(math.ceil(total / PER_PAGE), 1),
        values=form.values if form else dict(request.args.items()),
        params=form.params if form else {},
        object_types=OBJECT_TYPES,
        record_endpoints=_RECORD_ENDPOINTS,
        segments=SEGMENTS,
        filter_error=error,
        report=report,
    )
    return body, 400 if error else 200


def _filter_or_error() -> tuple[FilterForm | None, str | None]:
    try:
        return parse_filter(request.args), None
    except UserError as exc:
        return None, str(exc)


@blueprint.get("")
def trail() -> tuple[str, int]:
    """The filter form and one page of matching events, newest first."""
    form, error = _filter_or_error()
    return _page(form, error=error)


def _attachment_name(extension: str) -> str:
    stamp = context.resources().clock.now().strftime("%Y%m%dT%H%M%SZ")
    return f"ctvault-audit-trail-{stamp}.{extension}"


def _download_headers(extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{_attachment_name(extension)}"',
        "Cache-Control": "no-store",
    }


@blueprint.get("/export.csv")
def export_csv() -> BaseResponse:
    """The matching events as CSV, oldest first, streamed; the export is audited first."""
    form = parse_filter(request.args)
    lines = audit_trail.export_audit_csv(context.service_context(), form.criteria)
    # Commit the audit.export event now: the body is streamed after the view returns, from
    # this unit of work, which the stream closes when done (the request's hooks ran by then).
    context.commit()
    unit = context.detach_uow()

    def stream() -> Iterator[str]:
        try:
            yield from lines
        finally:
            unit.close()

    return Response(stream(), mimetype="text/csv", headers=_download_headers("csv"))


@blueprint.get("/export.pdf")
def export_pdf() -> BaseResponse:
    """The matching events as a paginated PDF with the chain status; the export is audited."""
    form = parse_filter(request.args)
    pdf = audit_trail.export_audit_pdf(
        context.service_context(), form.criteria, lab_name=context.resources().settings.lab_name
    )
    context.commit()
    return Response(pdf, mimetype="application/pdf", headers=_download_headers("pdf"))


@blueprint.get("/verify")
def verify() -> tuple[str, int] | str:
    """Verify the whole hash chain on demand (it reads every event: seconds on big trails)."""
    report = audit_trail.verify_for(context.service_context())
    if request.headers.get("HX-Request") == "true":
        return render_template("audit/_verify.html", report=report)
    form, error = _filter_or_error()
    return _page(form, error=error, report=report)
