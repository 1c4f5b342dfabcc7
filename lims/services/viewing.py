"""Viewing a version: the canonical array to read tiles from, and the audited first look."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import NotFoundError
from lims.models import VersionDerivative
from lims.services import access
from lims.services.context import ServiceContext
from lims.services.preparation import derivatives_of, preparation_of


@dataclasses.dataclass(frozen=True, slots=True)
class ViewableVersion:
    """What a viewer needs: where the canonical array is and what it holds."""

    version_id: uuid.UUID
    canonical_path: Path
    array_digest: str
    attributes: dict[str, object]
    derivatives: dict[str, VersionDerivative]


def viewable_version(ctx: ServiceContext, version_id: uuid.UUID) -> ViewableVersion:
    """The canonical array of a version the caller may see.

    Raises:
        NotFoundError: no such (visible) version, or it has no viewable image (yet); the
            message says which: still being prepared, failed (with why), or not an image.
    """
    project_id = access.project_id_of(ctx.uow.session, "dataset_version", version_id)
    access.check_visible(ctx, project_id, "dataset version")
    access.check(ctx, Permission.CATALOGUE_READ, project_id)
    derived = derivatives_of(ctx, version_id)
    canonical = derived.get("canonical")
    if canonical is None or canonical.array_digest is None:
        state = preparation_of(ctx, version_id)
        why = {
            None: "this version has no image view",
            "queued": "the image is still being prepared; try again in a moment",
            "running": "the image is still being prepared; try again in a moment",
            "not_an_image": "no file of this version is an image ctvault can show",
        }.get(state.state if state else None)
        if why is None and state is not None:
            why = f"the image could not be prepared: {state.message}"
        raise NotFoundError(why or "this version has no image view")
    return ViewableVersion(
        version_id=version_id,
        canonical_path=ctx.blobstore.path(canonical.blob_sha256),
        array_digest=canonical.array_digest,
        attributes=dict(canonical.attributes),
        derivatives=derived,
    )


def record_first_view(ctx: ServiceContext, version_id: uuid.UUID) -> None:
    """Audit that the caller opened this version in a viewer; the caller commits.

    The web layer calls it for the first opening within a session only.
    """
    ctx.audit(EventDraft("version.view", "dataset_version", str(version_id)))
