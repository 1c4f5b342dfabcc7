"""Change a record from its page: edit (with reason), retire, add a note, amend metadata.

Each endpoint parses its form, calls one service and redirects back to the record page. A
refused change (no reason, duplicate name, nothing changed, bad JSON) rolls back and re-shows
the page with the one-line reason next to the form, and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import UserError
from lims.services import changes
from lims.web import context
from lims.web.catalogue.forms import first_error
from lims.web.catalogue.pages import RECORD_PAGES, Page
from lims.web.errors import BAD_REQUEST, status_for
from lims.web.records.forms import EditForm, MetadataForm, NoteForm, RetireForm
from lims.web.records.trail import KINDS, LABELS

blueprint = Blueprint("records", __name__, template_folder="templates")

_SEGMENTS = "any(projects, samples, datasets, versions)"
_PAGE_ENDPOINTS = {
    "project": ("catalogue.project", "project_id"),
    "sample": ("catalogue.sample", "sample_id"),
    "dataset": ("catalogue.dataset", "dataset_id"),
    "dataset_version": ("catalogue.version", "version_id"),
}


def record_url(kind: str, record_id: uuid.UUID | str, anchor: str | None = None) -> str:
    """The page of a record of one of the four record kinds."""
    endpoint, argument = _PAGE_ENDPOINTS[kind]
    values: dict[str, Any] = {argument: record_id}
    return url_for(endpoint, _anchor=anchor, **values)


def _refused(
    kind: str, record_id: uuid.UUID, name: str, form: FlaskForm, message: str, *, status: int
) -> Page:
    context.rollback()
    return RECORD_PAGES[kind](record_id, {name: form}, {name: message}, status)


@blueprint.post("/<any(projects, samples):segment>/<uuid:record_id>/edit")
def edit(segment: str, record_id: uuid.UUID) -> Page | BaseResponse:
    """Rename a project or sample or change its description, with a reason."""
    kind = KINDS[segment]
    form = EditForm(prefix="edit")
    if not form.validate():
        return _refused(kind, record_id, "edit", form, first_error(form), status=BAD_REQUEST)
    update = changes.update_project if kind == "project" else changes.update_sample
    try:
        update(
            context.service_context(),
            record_id,
            reason=form.reason.data or "",
            name=form.name.data,
            description=form.description.data or "",
        )
    except UserError as exc:
        return _refused(kind, record_id, "edit", form, str(exc), status=status_for(exc))
    flash(f"The {LABELS[kind]} was changed; the audit trail keeps the old values.", "success")
    return redirect(record_url(kind, record_id))


@blueprint.post(f"/<{_SEGMENTS}:segment>/<uuid:record_id>/retire")
def retire(segment: str, record_id: uuid.UUID) -> Page | BaseResponse:
    """Retire a record with a reason, after an explicit confirmation."""
    kind = KINDS[segment]
    form = RetireForm(prefix="retire")
    if not form.validate():
        return _refused(kind, record_id, "retire", form, first_error(form), status=BAD_REQUEST)
    reason = form.reason.data or ""
    if reason.strip() and not form.confirm.data:
        message = f"tick the box to confirm that you want to retire this {LABELS[kind]}"
        return _refused(kind, record_id, "retire", form, message, status=BAD_REQUEST)
    try:
        changes.retire(context.service_context(), kind, record_id, reason=reason)
    except UserError as exc:
        return _refused(kind, record_id, "retire", form, str(exc), status=status_for(exc))
    flash(f"The {LABELS[kind]} is retired. It stays readable and in the audit trail.", "success")
    return redirect(record_url(kind, record_id))


@blueprint.post(f"/<{_SEGMENTS}:segment>/<uuid:record_id>/notes")
def add_note(segment: str, record_id: uuid.UUID) -> Page | BaseResponse:
    """Attach a note to a record (audited; notes are never edited)."""
    kind = KINDS[segment]
    form = NoteForm(prefix="note")
    if not form.validate():
        return _refused(kind, record_id, "note", form, first_error(form), status=BAD_REQUEST)
    try:
        changes.add_note(context.service_context(), kind, record_id, form.body.data or "")
    except UserError as exc:
        return _refused(kind, record_id, "note", form, str(exc), status=status_for(exc))
    flash("Note added.", "success")
    return redirect(record_url(kind, record_id, anchor="notes"))


def parse_metadata(text: str) -> dict[str, Any]:
    """A JSON object from the form.

    Raises:
        UserError: not JSON, or JSON but not an object.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"the metadata is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise UserError(msg) from exc
    if not isinstance(value, dict):
        raise UserError('the metadata must be a JSON object, like {"voltage_kv": 80}')
    return value


@blueprint.post("/datasets/<uuid:record_id>/metadata")
def amend_metadata(record_id: uuid.UUID) -> Page | BaseResponse:
    """Save new metadata as a new version of the dataset (same files), with a reason."""
    form = MetadataForm(prefix="meta")
    if not form.validate():
        return _refused(
            "dataset", record_id, "metadata", form, first_error(form), status=BAD_REQUEST
        )
    try:
        metadata = parse_metadata(form.metadata.data or "")
        version = changes.amend_metadata(
            context.service_context(), record_id, metadata, reason=form.reason.data or ""
        )
    except UserError as exc:
        return _refused("dataset", record_id, "metadata", form, str(exc), status=status_for(exc))
    flash(f"Metadata saved as version {version.number}; earlier versions stay.", "success")
    return redirect(record_url("dataset", record_id))
