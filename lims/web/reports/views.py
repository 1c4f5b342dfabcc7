"""Report views: parse the request, call the reports service, render or send the PDF."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, send_file
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import UserError
from lims.services import reports
from lims.services.reports import RecordReports
from lims.web import context
from lims.web.audit_trail.query import FIELDS, parse_filter
from lims.web.errors import status_for

blueprint = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")
MAX_VERIFY_BYTES = 200 * 1024 * 1024
KIND_OF = {"dataset_version": "dataset", "analysis": "analysis"}


def reports_for(object_type: str, object_id: object) -> RecordReports:
    """A record's reports, for the report panel of its page."""
    return reports.reports_of(context.service_context(), object_type, str(object_id))


blueprint.add_app_template_global(reports_for, "reports_for")


def _back() -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else "/"


@blueprint.post("/request")
def request_report() -> BaseResponse:
    """Queue a report of the record named in the form, then go back to its page."""
    object_type = request.form.get("object_type", "")
    kind = KIND_OF.get(object_type, object_type)
    try:
        reports.request_report(context.service_context(), kind, request.form.get("object_id", ""))
    except UserError as error:
        flash(f"No report was requested: {error}", "error")
        return redirect(_back())
    context.commit()
    flash("Report requested: a worker is generating it; you will be notified.", "success")
    return redirect(_back())


@blueprint.route("/audit-trail", methods=["GET", "POST"])
def audit_trail() -> tuple[str, int] | BaseResponse:
    """Sealed audit trail reports: ask for one with a filter; the latest ones."""
    ctx = context.service_context()
    error, values = None, dict.fromkeys(FIELDS, "")
    if request.method == "POST":
        try:
            form = parse_filter(request.form)
            values = form.values
            reports.request_report(ctx, "audit_trail", "", criteria=form.criteria)
        except UserError as exc:
            error = f"No report was requested: {exc}"
        else:
            context.commit()
            flash("Report requested: a worker is generating it; you will be notified.", "success")
            return redirect(request.path)
    found = reports.audit_trail_reports(ctx)
    page = render_template("reports/audit_trail.html", found=found, values=values, error=error)
    return page, 400 if error else 200


@blueprint.get("/<uuid:report_id>")
def report_page(report_id: uuid.UUID) -> tuple[str, int]:
    """One filed report: what it covers, its digest and seal, its signatures, download."""
    report = reports.get_report(context.service_context(), report_id)
    return render_template("reports/report.html", report=report), 200


@blueprint.get("/<uuid:report_id>.pdf")
def download(report_id: uuid.UUID) -> BaseResponse:
    """The sealed PDF (the download is audited)."""
    report, stream = reports.open_report(context.service_context(), report_id)
    context.commit()
    return send_file(
        stream,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"ctvault-report-{report.id}.pdf",
        etag=report.blob_sha256,
    )


@blueprint.route("/verify", methods=["GET", "POST"])
def verify() -> tuple[str, int]:
    """Upload a PDF: is its seal intact, trusted, whole, and is it a filed report?"""
    if request.method == "GET":
        return render_template("reports/verify.html", outcome=None, name=""), 200
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template(
            "reports/verify.html", outcome=None, name="", error="Choose a PDF file to verify."
        ), 400
    data = upload.read(MAX_VERIFY_BYTES + 1)
    if len(data) > MAX_VERIFY_BYTES:
        return render_template(
            "reports/verify.html", outcome=None, name=upload.filename, error="The file is too big."
        ), 413
    try:
        outcome = reports.verify_file(context.service_context(), data, name=upload.filename)
    except UserError as error:
        return render_template(
            "reports/verify.html", outcome=None, name=upload.filename, error=str(error)
        ), status_for(error)
    context.commit()
    return render_template("reports/verify.html", outcome=outcome, name=upload.filename), 200
