"""Catalogue pages: project list, project, sample, dataset, version, and file download."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import NotFoundError, PermissionDeniedError, UserError
from lims.services import catalogue, tags, version_diff
from lims.web import context
from lims.web.catalogue.browse import catalogue_page
from lims.web.catalogue.forms import ProjectForm, SampleForm, first_error
from lims.web.catalogue.pages import (
    Page,
    dataset_page,
    project_list,
    project_page,
    sample_page,
    version_page,
)
from lims.web.errors import BAD_REQUEST, status_for

blueprint = Blueprint("catalogue", __name__, template_folder="templates")


@blueprint.get("/")
def projects() -> Page:
    """Every project, and a form to create one."""
    return project_list()


@blueprint.get("/catalogue")
def browse() -> Page:
    """Datasets as a thumbnail grid or a table, with filters, sort and keyset pages."""
    return catalogue_page()


@blueprint.post("/projects")
def create_project() -> Page | BaseResponse:
    """Create a project; a duplicate or invalid name re-shows the list with the reason."""
    form = ProjectForm()
    if not form.validate():
        return project_list({"create": form}, {"create": first_error(form)}, BAD_REQUEST)
    try:
        project = catalogue.create_project(
            context.service_context(), name=form.name.data, description=form.description.data or ""
        )
    except UserError as exc:
        context.rollback()
        return project_list({"create": form}, {"create": str(exc)}, status_for(exc))
    flash(f"Project {project.name!r} created.", "success")
    return redirect(url_for("catalogue.project", project_id=project.id))


@blueprint.get("/projects/<uuid:project_id>")
def project(project_id: uuid.UUID) -> Page:
    """A project with its samples, and a form to add a sample."""
    return project_page(project_id)


@blueprint.post("/projects/<uuid:project_id>/samples")
def create_sample(project_id: uuid.UUID) -> Page | BaseResponse:
    """Create a sample in the project; a duplicate name re-shows the page with the reason."""
    form = SampleForm()
    if not form.validate():
        return project_page(
            project_id, {"sample": form}, {"sample": first_error(form)}, BAD_REQUEST
        )
    ctx = context.service_context()
    try:
        parent = catalogue.get_project(ctx, project_id)
        sample = catalogue.create_sample(
            ctx,
            project_name=parent.name,
            name=form.name.data,
            description=form.description.data or "",
        )
    except UserError as exc:
        context.rollback()
        return project_page(project_id, {"sample": form}, {"sample": str(exc)}, status_for(exc))
    flash(f"Sample {sample.name!r} created.", "success")
    return redirect(url_for("catalogue.sample", sample_id=sample.id))


@blueprint.get("/samples/<uuid:sample_id>")
def sample(sample_id: uuid.UUID) -> Page:
    """A sample with its datasets, and the upload form."""
    return sample_page(sample_id)


@blueprint.get("/datasets/<uuid:dataset_id>")
def dataset(dataset_id: uuid.UUID) -> Page:
    """A dataset with every version; the latest version's files are listed in full."""
    return dataset_page(dataset_id)


@blueprint.get("/datasets/<uuid:dataset_id>/compare")
def compare(dataset_id: uuid.UUID) -> Page:
    """Two versions of a dataset side by side, field by field."""
    try:
        old, new = int(request.args.get("old", "")), int(request.args.get("new", ""))
    except ValueError:
        raise UserError("choose the two version numbers to compare") from None
    diff = version_diff.diff_versions(context.service_context(), dataset_id, old, new)
    html = render_template("catalogue/compare.html", diff=diff, dataset=diff.new.dataset)
    return html, 200


@blueprint.post("/datasets/<uuid:dataset_id>/tags")
def add_tag(dataset_id: uuid.UUID) -> BaseResponse:
    """Tag a dataset (audited)."""
    try:
        tag = tags.add_tag(context.service_context(), dataset_id, request.form.get("label", ""))
    except (PermissionDeniedError, NotFoundError):
        raise
    except UserError as exc:
        context.rollback()
        flash(f"The tag was not added: {exc}", "error")
    else:
        flash(f"Tagged {tag.label!r}.", "success")
    return redirect(url_for("catalogue.dataset", dataset_id=dataset_id) + "#tags")


@blueprint.post("/datasets/<uuid:dataset_id>/tags/remove")
def remove_tag(dataset_id: uuid.UUID) -> BaseResponse:
    """Remove a tag from a dataset, with a reason (audited)."""
    try:
        tag_id = uuid.UUID(request.form.get("tag_id", ""))
        tags.remove_tag(context.service_context(), tag_id, reason=request.form.get("reason", ""))
    except ValueError:
        flash("The tag was not removed: choose a tag", "error")
    except (PermissionDeniedError, NotFoundError):
        raise
    except UserError as exc:
        context.rollback()
        flash(f"The tag was not removed: {exc}", "error")
    else:
        flash("Tag removed.", "success")
    return redirect(url_for("catalogue.dataset", dataset_id=dataset_id) + "#tags")


@blueprint.get("/versions/<uuid:version_id>")
def version(version_id: uuid.UUID) -> Page | str:
    """One version and its files (only the file table when htmx asks for it)."""
    if request.headers.get("HX-Request") == "true":
        found = catalogue.get_version(context.service_context(), version_id)
        return render_template(
            "catalogue/_files.html", version=found, project_id=found.dataset.sample.project_id
        )
    return version_page(version_id)


@blueprint.get("/files/<uuid:file_id>")
def download(file_id: uuid.UUID) -> BaseResponse:
    """Stream one stored file (audited); ETag is its SHA-256, ranges are supported."""
    entry, handle = catalogue.open_version_file(context.service_context(), file_id)
    response = send_file(
        handle,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=PurePosixPath(entry.path).name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    # A stream has no size werkzeug can see: give it, so Content-Length and ranges work.
    response.content_length = entry.size_bytes
    response.set_etag(entry.blob_sha256)
    response.headers["X-Content-SHA256"] = entry.blob_sha256
    return response.make_conditional(request, accept_ranges=True, complete_length=entry.size_bytes)
