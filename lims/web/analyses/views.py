"""Analysis pages: list, editor, review queue and the analysis itself; parse, call, render."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.auth.roles import Permission
from lims.errors import UserError
from lims.services import analyses, analysis_review, catalogue, signing
from lims.web import context
from lims.web.analyses import signing as sign_views
from lims.web.analyses import withdrawal as withdrawal_views
from lims.web.analyses.panel import sign_options, signatures_for
from lims.web.errors import status_for

blueprint = Blueprint("analyses", __name__, template_folder="templates")
blueprint.add_url_rule(
    "/sign/<record_type>/<record_id>", view_func=sign_views.sign_dialog, methods=["GET"]
)
blueprint.add_url_rule(
    "/sign/<record_type>/<record_id>", view_func=sign_views.sign_post, methods=["POST"]
)
blueprint.add_url_rule(
    "/signatures/<signature_id>/withdraw",
    view_func=withdrawal_views.withdraw_dialog,
    methods=["GET"],
)
blueprint.add_url_rule(
    "/signatures/<signature_id>/withdraw",
    view_func=withdrawal_views.withdraw_post,
    methods=["POST"],
)
blueprint.add_app_template_global(signatures_for, "signatures_for")
blueprint.add_app_template_global(sign_options, "sign_options")
Page = tuple[str, int]


def _ids(field: str) -> list[uuid.UUID]:
    found = []
    for raw in request.form.get(field, "").replace(",", "\n").splitlines():
        text = raw.strip()
        if not text:
            continue
        try:
            found.append(uuid.UUID(text))
        except ValueError:
            raise UserError(f"{text!r} is not a record id") from None
    return found


def _writable_projects() -> list[object]:
    ctx = context.service_context()
    identity = context.require_identity()
    return [
        p for p in catalogue.list_projects(ctx) if identity.can(Permission.ANALYSIS_WRITE, p.id)
    ]


def _editor(
    analysis_id: uuid.UUID | None, values: dict[str, str], error: str | None, status: int
) -> Page:
    page = render_template(
        "analyses/edit.html",
        analysis_id=analysis_id,
        projects=_writable_projects() if analysis_id is None else [],
        values=values,
        error=error,
    )
    return page, status


@blueprint.get("/analyses")
def analysis_list() -> Page:
    """Analyses the user can see, with their review status."""
    ctx = context.service_context()
    rows = [(a, analyses.current_revision(ctx, a)) for a in analyses.list_analyses(ctx)]
    return render_template(
        "analyses/list.html", rows=rows, may_write=bool(_writable_projects())
    ), 200


@blueprint.get("/analyses/queue")
def queue() -> Page:
    """What awaits the user's review or approval."""
    ctx = context.service_context()
    rows = [(a, analyses.current_revision(ctx, a)) for a in analysis_review.review_queue(ctx)]
    return render_template("analyses/queue.html", rows=rows), 200


@blueprint.get("/analyses/new")
def new_analysis() -> Page:
    """The editor for a new analysis (versions and runs may be pre-filled from links)."""
    values = {
        "project_id": request.args.get("project", ""),
        "dataset_versions": "\n".join(request.args.getlist("version")),
        "runs": "\n".join(request.args.getlist("run")),
    }
    return _editor(None, values, None, 200)


@blueprint.post("/analyses")
def create_analysis() -> Page | BaseResponse:
    """Create a draft analysis."""
    ctx = context.service_context()
    try:
        project_id = uuid.UUID(request.form.get("project_id", ""))
    except ValueError:
        return _editor(None, request.form.to_dict(), "choose a project", 400)
    try:
        analysis = analyses.create_analysis(
            ctx,
            project_id=project_id,
            title=request.form.get("title", ""),
            purpose=request.form.get("purpose", ""),
            results=request.form.get("results", ""),
            conclusions=request.form.get("conclusions", ""),
            dataset_versions=_ids("dataset_versions"),
            runs=_ids("runs"),
        )
    except UserError as exc:
        context.rollback()
        return _editor(None, request.form.to_dict(), str(exc), status_for(exc))
    flash("Draft analysis saved (revision 1).", "success")
    return redirect(url_for("analyses.analysis_page", analysis_id=analysis.id))


@blueprint.get("/analyses/<uuid:analysis_id>/edit")
def edit_analysis(analysis_id: uuid.UUID) -> Page:
    """The editor with the current revision's content."""
    ctx = context.service_context()
    revision = analyses.current_revision(ctx, analyses.get_analysis(ctx, analysis_id))
    values = {
        "title": revision.title,
        "purpose": revision.purpose,
        "results": revision.results,
        "conclusions": revision.conclusions,
        "dataset_versions": "\n".join(revision.dataset_versions),
        "runs": "\n".join(revision.runs),
    }
    return _editor(analysis_id, values, None, 200)


@blueprint.post("/analyses/<uuid:analysis_id>/edit")
def save_analysis(analysis_id: uuid.UUID) -> Page | BaseResponse:
    """Save the draft as a new revision."""
    ctx = context.service_context()
    try:
        revision = analyses.edit_analysis(
            ctx,
            analysis_id,
            title=request.form.get("title", ""),
            purpose=request.form.get("purpose", ""),
            results=request.form.get("results", ""),
            conclusions=request.form.get("conclusions", ""),
            dataset_versions=_ids("dataset_versions"),
            runs=_ids("runs"),
            reason=request.form.get("reason", ""),
        )
    except UserError as exc:
        context.rollback()
        return _editor(analysis_id, request.form.to_dict(), str(exc), status_for(exc))
    flash(f"Draft saved as revision {revision.revision}.", "success")
    return redirect(url_for("analyses.analysis_page", analysis_id=analysis_id))


@blueprint.get("/analyses/<uuid:analysis_id>")
def analysis_page(analysis_id: uuid.UUID) -> Page:
    """The analysis: current content, references, actions, signatures of every revision."""
    ctx = context.service_context()
    analysis = analyses.get_analysis(ctx, analysis_id)
    revision = analyses.current_revision(ctx, analysis)
    identity = context.require_identity()
    page = render_template(
        "analyses/analysis.html",
        analysis=analysis,
        revision=revision,
        revisions=list(reversed(analysis.revisions)),
        meanings=signing.allowed_meanings(ctx, "analysis", str(revision.id)),
        may_edit=analysis.status == "draft" and analysis.created_by_id == identity.user_id,
    )
    return page, 200
