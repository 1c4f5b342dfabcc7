"""Viewing a version: the canonical array to read tiles from, and the audited first look."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

from sqlalchemy import select

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


PREVIEW_KINDS = ("thumbnail", "ortho_z", "ortho_y", "ortho_x", "mip")


def preview(ctx: ServiceContext, version_id: uuid.UUID, kind: str) -> tuple[Path, str]:
    """The PNG file of one preview of a version the caller may see, and its digest.

    Raises:
        NotFoundError: unknown kind, invisible version, or no such preview (yet).
    """
    if kind not in PREVIEW_KINDS:
        raise NotFoundError("no such preview")
    project_id = access.project_id_of(ctx.uow.session, "dataset_version", version_id)
    access.check_visible(ctx, project_id, "dataset version")
    derived = derivatives_of(ctx, version_id).get(kind)
    if derived is None:
        raise NotFoundError("this version has no such preview (yet)")
    return ctx.blobstore.path(derived.blob_sha256), derived.blob_sha256


def thumbnails_of(ctx: ServiceContext, version_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these (visible) versions have a thumbnail, for catalogue lists."""
    if not version_ids:
        return set()
    rows = ctx.uow.session.scalars(
        select(VersionDerivative.version_id).where(
            VersionDerivative.version_id.in_(version_ids), VersionDerivative.kind == "thumbnail"
        )
    )
    return set(rows)


PREVIEW_LABELS = {
    "thumbnail": "Thumbnail",
    "ortho_z": "XY mid-plane",
    "ortho_y": "XZ mid-plane",
    "ortho_x": "YZ mid-plane",
    "mip": "Maximum-intensity projection",
}


def preview_kinds(ctx: ServiceContext, version_id: uuid.UUID) -> list[tuple[str, str]]:
    """(kind, label) of the previews a visible version has, in display order."""
    project_id = access.project_id_of(ctx.uow.session, "dataset_version", version_id)
    access.check_visible(ctx, project_id, "dataset version")
    have = derivatives_of(ctx, version_id)
    return [(kind, PREVIEW_LABELS[kind]) for kind in PREVIEW_KINDS if kind in have]


def preparation_state(ctx: ServiceContext, version_id: uuid.UUID) -> tuple[str, str] | None:
    """(state, message) of the version's preparation for viewing, if any."""
    state = preparation_of(ctx, version_id)
    return (state.state, state.message) if state else None


def overlay_for(
    ctx: ServiceContext, base: ViewableVersion, overlay_id: uuid.UUID
) -> ViewableVersion:
    """A visible label image that can be drawn over ``base`` (same shape).

    Raises:
        NotFoundError: invisible or unprepared, not a label image, or another shape.
    """
    overlay = viewable_version(ctx, overlay_id)
    if overlay.attributes.get("kind") != "label":
        raise NotFoundError("that version is not a label image")
    if overlay.attributes.get("shape") != base.attributes.get("shape"):
        raise NotFoundError("the label image has another shape than this image")
    return overlay
