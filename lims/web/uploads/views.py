"""Upload endpoints for the browser script: open a batch, PUT each file, commit or cancel.

See ``lims.web.uploads.batches`` for the design. Every endpoint answers JSON.
"""

from __future__ import annotations

import uuid
from typing import BinaryIO, cast

from flask import Blueprint, Response, flash, jsonify, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import LengthRequired
from wtforms import ValidationError

from lims.errors import UserError
from lims.web import context
from lims.web.catalogue.forms import first_error
from lims.web.filters import plural
from lims.web.uploads import batches
from lims.web.uploads.forms import UploadForm
from lims.web.uploads.limits import max_upload_bytes
from lims.web.uploads.staging import UploadBatch, UploadStaging

blueprint = Blueprint("uploads", __name__)

_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _staging() -> UploadStaging:
    return UploadStaging(context.resources().redis)


def _batch(batch_id: str) -> UploadBatch:
    return _staging().get(batch_id, context.require_identity().user_id)


def _batch_urls(batch_id: str) -> dict[str, str]:
    return {
        "files_url": url_for("uploads.stage_file", batch_id=batch_id),
        "commit_url": url_for("uploads.commit", batch_id=batch_id),
        "cancel_url": url_for("uploads.cancel", batch_id=batch_id),
    }


@blueprint.post("/samples/<uuid:sample_id>/uploads")
def open_batch(sample_id: uuid.UUID) -> Response:
    """Check the target (sample, dataset name, reason) and open a batch for the files."""
    form = UploadForm()
    if not form.validate():
        raise UserError(first_error(form))
    batch = batches.open_batch(
        context.service_context(),
        _staging(),
        sample_id=sample_id,
        dataset=form.dataset.data,
        reason=form.reason.data,
        now=context.resources().clock.now().timestamp(),
    )
    return jsonify(
        batch=batch.id,
        max_bytes=max_upload_bytes(context.resources().settings),
        **_batch_urls(batch.id),
    )


@blueprint.put("/uploads/<batch_id>/files")
def stage_file(batch_id: str) -> Response:
    """Stream the raw request body into the store as the file ``?path=``."""
    limit = max_upload_bytes(context.resources().settings)
    # Raise the body limit before anything touches request.stream (CSRF is checked here,
    # from the header, because CSRFProtect would read the body as a form).
    request.max_content_length = limit
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from exc
    if request.mimetype in _FORM_TYPES:
        raise UserError("send the file as the raw request body, not as a form")
    if request.content_length is None:
        raise LengthRequired
    staged = batches.stage_file(
        context.service_context(),
        _staging(),
        _batch(batch_id),
        path=request.args.get("path", ""),
        stream=cast("BinaryIO", request.stream),
        size_bytes=request.content_length,
        max_bytes=limit,
    )
    return jsonify(path=staged.path, sha256=staged.blob.sha256, size_bytes=staged.blob.size_bytes)


@blueprint.post("/uploads/<batch_id>/commit")
def commit(batch_id: str) -> Response:
    """Commit every staged file as one new version; answer with the dataset page URL."""
    version = batches.commit_batch(context.service_context(), _staging(), _batch(batch_id))
    flash(
        f"Version {version.number} of {version.dataset.name!r} committed"
        f" ({plural(len(version.files), 'file')}).",
        "success",
    )
    url = url_for("catalogue.dataset", dataset_id=version.dataset_id)
    return jsonify(version=str(version.id), number=version.number, url=url)


@blueprint.post("/uploads/<batch_id>/cancel")
def cancel(batch_id: str) -> Response:
    """Abandon the batch and discard what it stored."""
    batches.cancel_batch(context.service_context(), _staging(), _batch(batch_id))
    return jsonify(cancelled=True)
