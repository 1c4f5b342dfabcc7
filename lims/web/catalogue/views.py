"""Catalogue pages: project list, project, sample, dataset, version, and file download."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import UserError
from lims.services import catalogue
from lims.web import context
from lims.web.catalogue.authors import author_names
from lims.web.catalogue.forms import ProjectForm, SampleForm, first_error
from lims.web.errors import BAD_REQUEST, status_for
from lims.web.uploads.forms import UploadForm
from lims.web.uploads.limits import max_upload_bytes

blueprint = Blueprint("catalogue", __name__, template_folder="templates")

Page = tuple[str, int]


def _project_list(form: ProjectForm, error: str | None = None, status: int = 200) -> Page:
    projects = catalogue.list_projects(context.service_context())
    page = render_template("catalogue/projects.html", projects=projects, form=form, error=error)
    return page, status


@blueprint.get("/")
def projects() -> Page:
    """Every project, and a form to create one."""
    return _project_list(ProjectForm())


@blueprint.post("/projects")
def create_project() -> Page | BaseResponse:
    """Create a project; a duplicate or invalid name re-shows the list with the reason."""
    form = ProjectForm()
    if not form.validate():
        return _project_list(form, first_error(form), BAD_REQUEST)
    try:
        project = catalogue.create_project(
            context.service_context(), name=form.name.data, description=form.description.data or ""
        )
    except UserError as exc:
        context.rollback()
        return _project_list(form, str(exc), status_for(exc))
    flash(f"Project {project.name!r} created.", "success")
    return redirect(url_for("catalogue.project", project_id=project.id))


def _project_page(
    project_id: uuid.UUID, form: SampleForm, error: str | None = None, status: int = 200
) -> Page:
    ctx = context.service_context()
    project = catalogue.get_project(ctx, project_id)
    samples = catalogue.list_samples(ctx, project_id)
    page = render_template(
        "catalogue/project.html", project=project, samples=samples, form=form, error=error
    )
    return page, status


@blueprint.get("/projects/<uuid:project_id>")
def project(project_id: uuid.UUID) -> Page:
    """A project with its samples, and a form to add a sample."""
    return _project_page(project_id, SampleForm())


@blueprint.post("/projects/<uuid:project_id>/samples")
def create_sample(project_id: uuid.UUID) -> Page | BaseResponse:
    """Create a sample in the project; a duplicate name re-shows the page with the reason."""
    form = SampleForm()
    if not form.validate():
        return _project_page(project_id, form, first_error(form), BAD_REQUEST)
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
        return _project_page(project_id, form, str(exc), status_for(exc))
    flash(f"Sample {sample.name!r} created.", "success")
    return redirect(url_for("catalogue.sample", sample_id=sample.id))


@blueprint.get("/samples/<uuid:sample_id>")
def sample(sample_id: uuid.UUID) -> str:
    """A sample with its datasets, and the upload form."""
    ctx = context.service_context()
    found = catalogue.get_sample(ctx, sample_id)
    datasets = catalogue.list_datasets(ctx, sample_id)
    return render_template(
        "catalogue/sample.html",
        sample=found,
        datasets=datasets,
        form=UploadForm(),
        max_upload_bytes=max_upload_bytes(context.resources().settings),
    )


@blueprint.get("/datasets/<uuid:dataset_id>")
def dataset(dataset_id: uuid.UUID) -> str:
    """A dataset with every version; the latest version's files are listed in full."""
    ctx = context.service_context()
    found = catalogue.get_dataset(ctx, dataset_id)
    parent = catalogue.get_sample(ctx, found.sample_id)
    form = UploadForm(dataset=found.name)
    return render_template(
        "catalogue/dataset.html",
        dataset=found,
        sample=parent,
        versions=list(reversed(found.versions)),
        authors=author_names(v.author_id for v in found.versions),
        form=form,
        max_upload_bytes=max_upload_bytes(context.resources().settings),
    )


@blueprint.get("/versions/<uuid:version_id>")
def version(version_id: uuid.UUID) -> str:
    """One version and its files (only the file table when htmx asks for it)."""
    ctx = context.service_context()
    found = catalogue.get_version(ctx, version_id)
    if request.headers.get("HX-Request") == "true":
        return render_template("catalogue/_files.html", version=found)
    parent = catalogue.get_sample(ctx, found.dataset.sample_id)
    return render_template(
        "catalogue/version.html",
        version=found,
        sample=parent,
        authors=author_names([found.author_id]),
    )


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
