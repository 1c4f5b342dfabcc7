"""Files of a version: metadata with SHA-256, and the audited download."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from flask import Response, request, send_file, url_for
from pydantic import BaseModel
from werkzeug.wrappers import Response as BaseResponse

from lims.models import VersionFile
from lims.services import catalogue
from lims.web import context
from lims.web.api.pagination import PageQuery, paginate
from lims.web.api.parsing import parse_query, render
from lims.web.api.routing import operation
from lims.web.api.schemas import Page

TAG = "catalogue"


class FileOut(BaseModel):
    """One file of a version: its relative path, size and SHA-256, and where to get it."""

    id: uuid.UUID
    version_id: uuid.UUID
    path: str
    size_bytes: int
    sha256: str
    download_url: str

    @classmethod
    def of(cls, entry: VersionFile) -> FileOut:
        """The API view of a version's file."""
        return cls(
            id=entry.id,
            version_id=entry.version_id,
            path=entry.path,
            size_bytes=entry.size_bytes,
            sha256=entry.blob_sha256,
            download_url=url_for("api.download_file", file_id=entry.id),
        )


@operation(
    "/versions/<uuid:version_id>/files",
    tag=TAG,
    response=Page[FileOut],
    query=PageQuery,
    errors=(400, 404, 422),
)
def list_files(version_id: uuid.UUID) -> Response:
    """The files of a version, by path."""
    page = parse_query(PageQuery)
    version = catalogue.get_version(context.service_context(), version_id)
    items, cursor = paginate(version.files, lambda f: (f.path,), page, f"files:{version_id}")
    return render(Page[FileOut](items=[FileOut.of(f) for f in items], next_cursor=cursor))


@operation("/files/<uuid:file_id>/content", tag=TAG, response=None, binary=True, errors=(403, 404))
def download_file(file_id: uuid.UUID) -> BaseResponse:
    """The bytes of one file (audited download; ETag and X-Content-SHA256 are its SHA-256).

    Needs the download permission in the file's project. Ranges are supported.
    """
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
    response.content_length = entry.size_bytes
    response.set_etag(entry.blob_sha256)
    response.headers["X-Content-SHA256"] = entry.blob_sha256
    return response.make_conditional(request, accept_ranges=True, complete_length=entry.size_bytes)
