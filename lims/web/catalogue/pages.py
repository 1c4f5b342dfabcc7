"""Render the record pages, with their change forms (fresh, or as submitted with an error).

Every record page shows, besides the record: a retirement banner when retired, its notes with
an add-note form, its audit history, and the edit and retire forms. A view that re-shows a
page after a refused change passes the submitted form under its name in ``forms`` and the
one-line error under the same name in ``errors``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from flask import render_template
from flask_wtf import FlaskForm

from lims.services import catalogue, lineage, tags, viewing
from lims.web import context
from lims.web.catalogue.forms import ProjectForm, SampleForm
from lims.web.filters import pretty_json
from lims.web.records.forms import EditForm, MetadataForm, NoteForm, RetireForm
from lims.web.records.trail import listing, trail_of
from lims.web.uploads.forms import UploadForm
from lims.web.uploads.limits import max_upload_bytes

Page = tuple[str, int]
Forms = Mapping[str, FlaskForm]
Errors = Mapping[str, str]


def _common_forms() -> dict[str, FlaskForm]:
    return {
        "note": NoteForm(prefix="note", formdata=None),
        "retire": RetireForm(prefix="retire", formdata=None),
    }


def _edit_form(name: str, description: str) -> EditForm:
    return EditForm(prefix="edit", formdata=None, data={"name": name, "description": description})


def project_list(
    forms: Forms | None = None, errors: Errors | None = None, status: int = 200
) -> Page:
    """Every project (retired ones on request) and the create form."""
    ctx = context.service_context()
    projects = listing(ctx, "project", catalogue.list_projects(ctx), lambda p: p.id)
    chosen = {"create": ProjectForm(formdata=None), **(forms or {})}
    errors = errors or {}
    page = render_template(
        "catalogue/projects.html",
        projects=projects,
        form=chosen["create"],
        error=errors.get("create"),
    )
    return page, status


def project_page(
    project_id: uuid.UUID,
    forms: Forms | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Page:
    """A project with its samples, trail and forms."""
    ctx = context.service_context()
    project = catalogue.get_project(ctx, project_id)
    samples = listing(ctx, "sample", catalogue.list_samples(ctx, project_id), lambda s: s.id)
    chosen = {
        "sample": SampleForm(formdata=None),
        "edit": _edit_form(project.name, project.description),
        **_common_forms(),
        **(forms or {}),
    }
    page = render_template(
        "catalogue/project.html",
        project=project,
        samples=samples,
        form=chosen["sample"],
        forms=chosen,
        errors=errors or {},
        error=(errors or {}).get("sample"),
        trail=trail_of(ctx, "project", project_id, project.id),
        project_id=project.id,
    )
    return page, status


def sample_page(
    sample_id: uuid.UUID,
    forms: Forms | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Page:
    """A sample with its datasets, trail, upload form and change forms."""
    ctx = context.service_context()
    found = catalogue.get_sample(ctx, sample_id)
    datasets = listing(
        ctx, "dataset", catalogue.list_datasets(ctx, sample_id), lambda d: d.dataset.id
    )
    chosen = {
        "edit": _edit_form(found.name, found.description),
        **_common_forms(),
        **(forms or {}),
    }
    page = render_template(
        "catalogue/sample.html",
        sample=found,
        datasets=datasets,
        form=UploadForm(formdata=None),
        forms=chosen,
        errors=errors or {},
        trail=trail_of(ctx, "sample", sample_id, found.project_id),
        project_id=found.project_id,
        max_upload_bytes=max_upload_bytes(context.resources().settings),
        thumbnails=viewing.thumbnails_of(
            ctx, [item.latest.id for item in datasets.items if item.latest is not None]
        ),
    )
    return page, status


def dataset_page(
    dataset_id: uuid.UUID,
    forms: Forms | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Page:
    """A dataset with its versions, latest metadata, trail and forms."""
    ctx = context.service_context()
    found = catalogue.get_dataset(ctx, dataset_id)
    versions = listing(ctx, "dataset_version", list(reversed(found.versions)), lambda v: v.id)
    latest = found.versions[-1] if found.versions else None
    metadata = latest.metadata_ if latest is not None else {}
    chosen = {
        "metadata": MetadataForm(
            prefix="meta", formdata=None, data={"metadata": pretty_json(metadata)}
        ),
        **_common_forms(),
        **(forms or {}),
    }
    page = render_template(
        "catalogue/dataset.html",
        dataset=found,
        sample=found.sample,
        versions=versions,
        latest=latest,
        form=UploadForm(dataset=found.name, formdata=None),
        forms=chosen,
        errors=errors or {},
        trail=trail_of(ctx, "dataset", dataset_id, found.sample.project_id),
        project_id=found.sample.project_id,
        max_upload_bytes=max_upload_bytes(context.resources().settings),
        thumbnails=viewing.thumbnails_of(ctx, [latest.id] if latest else []),
        tags=tags.active_tags(ctx, dataset_id),
        lineage=lineage.lineage_of(ctx, dataset_id),
    )
    return page, status


def version_page(
    version_id: uuid.UUID,
    forms: Forms | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Page:
    """One version: facts, metadata, files, trail and forms."""
    ctx = context.service_context()
    found = catalogue.get_version(ctx, version_id)
    chosen = {**_common_forms(), **(forms or {})}
    page = render_template(
        "catalogue/version.html",
        version=found,
        sample=found.dataset.sample,
        forms=chosen,
        errors=errors or {},
        trail=trail_of(ctx, "dataset_version", version_id, found.dataset.sample.project_id),
        project_id=found.dataset.sample.project_id,
        previews=viewing.preview_kinds(ctx, version_id),
        preparation=viewing.preparation_state(ctx, version_id),
    )
    return page, status


RECORD_PAGES: dict[str, Callable[..., Page]] = {
    "project": project_page,
    "sample": sample_page,
    "dataset": dataset_page,
    "dataset_version": version_page,
}
