"""``/versions/<id>/view``: see a version's image in the browser.

A 2D image opens in an OpenSeadragon deep-zoom viewer on its IIIF service; a volume opens in
the orthoslice viewer (XY, XZ and YZ panes, each an OpenSeadragon viewer on that plane's IIIF
id, with slice sliders, a linked crosshair, window/level, the value under the cursor and a
scale bar). Everything the page's script needs is passed in data-attributes (the CSP allows
no inline script). A version that is not viewable yet shows the preparation service's
message instead. The opening itself is audited by the first ``info.json`` request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from typing import Any

import numpy as np
from flask import Blueprint, Response, render_template, request, send_file, url_for

from lims.errors import NotFoundError
from lims.imaging.windowing import auto_window
from lims.services import catalogue, viewing
from lims.storage.arrays import CanonicalArray
from lims.web import context
from lims.web.security import CONTENT_SECURITY_POLICY

blueprint = Blueprint("viewer", __name__, template_folder="templates")

PLACEHOLDER = "IMAGEID"
_PANES = (("z", "XY"), ("y", "XZ"), ("x", "YZ"))
# OpenSeadragon 6 adds one <style> element (no focus outline on touch screens). The viewer
# page's CSP allows exactly that text by its hash, nothing else inline.
OSD_INJECTED_STYLE = (
    "@media (hover: none) {    .openseadragon-canvas:focus {        outline: none !important;    }}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(OSD_INJECTED_STYLE.encode()).digest()).decode()
VIEWER_CSP = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", f"style-src 'self' 'sha256-{_STYLE_HASH}'"
)


@blueprint.get("/versions/<uuid:version_id>/view")
def view(version_id: uuid.UUID) -> str | Response:
    """The viewer of a version, or why it cannot be shown yet."""
    ctx = context.service_context()
    version = catalogue.get_version(ctx, version_id)  # 404 when not visible
    sample = version.dataset.sample
    try:
        viewable = viewing.viewable_version(ctx, version_id)
    except NotFoundError as exc:
        return render_template(
            "viewer/unavailable.html", version=version, sample=sample, message=str(exc)
        )
    config = viewer_config(viewable)
    overlay_problem = None
    overlay = request.args.get("overlay", "")
    if overlay:
        try:
            config["overlay"] = str(
                viewing.overlay_for(ctx, viewable, uuid.UUID(overlay)).version_id
            )
        except (ValueError, NotFoundError) as exc:
            overlay_problem = f"the overlay cannot be shown: {exc}"
    page = render_template(
        "viewer/view.html",
        version=version,
        sample=sample,
        config=config,
        overlay_problem=overlay_problem,
        panes=_PANES if config["kind"] == "volume" else (),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = VIEWER_CSP
    return response


def viewer_config(viewable: viewing.ViewableVersion) -> dict[str, Any]:
    """What the viewer script needs, for the page's data-attributes."""
    attributes = viewable.attributes
    shape = [int(n) for n in attributes.get("shape", [])]  # type: ignore[attr-defined]
    is_volume = "ortho_z" in viewable.derivatives or len(shape) == 4  # noqa: PLR2004
    dtype = np.dtype(str(attributes.get("dtype", "|u1")))
    with CanonicalArray(viewable.canonical_path) as array:
        stats = array.stats
    low, high = _default_window(dtype, stats.histogram, stats.minimum, stats.maximum)
    voxel = attributes.get("voxel_size")
    return {
        "kind": "volume" if is_volume else "image",
        "version": str(viewable.version_id),
        "iiif_base": url_for("iiif.base", image_id=PLACEHOLDER),
        "value_url": url_for("iiif.value", image_id=PLACEHOLDER),
        "placeholder": PLACEHOLDER,
        "shape": json.dumps(shape),
        "dtype": dtype.name,
        "min": _number(stats.minimum),
        "max": _number(stats.maximum),
        "window_low": _number(low),
        "window_high": _number(high),
        "voxel_size": json.dumps(voxel if isinstance(voxel, list) else None),
        "unit": str(attributes.get("unit") or ""),
        "osd_images": url_for("vendor.file", filename="openseadragon/build/openseadragon/images/"),
    }


def _default_window(
    dtype: np.dtype[Any], histogram: tuple[int, ...], low: float | None, high: float | None
) -> tuple[float, float]:
    """The numbers the server's default window uses (8-bit: as stored, 0-255)."""
    if dtype == np.dtype(np.uint8):
        return 0.0, 255.0
    if dtype.kind == "b":
        return 0.0, 1.0
    if low is None or high is None:
        return 0.0, 1.0
    return auto_window(histogram, float(low), float(high))


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(float(value)):
        return ""
    return f"{float(value):.6g}"


@blueprint.get("/versions/<uuid:version_id>/preview/<kind>.png")
def preview(version_id: uuid.UUID, kind: str) -> Response:
    """A preview PNG (thumbnail, mid-plane orthoslices, MIP), cached for good by digest."""
    path, digest = viewing.preview(context.service_context(), version_id, kind)
    response = send_file(
        path, mimetype="image/png", etag=digest, conditional=True, max_age=31536000
    )
    response.cache_control.private = True
    response.cache_control.immutable = True
    return response
