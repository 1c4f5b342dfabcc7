"""``/iiif/3``: the IIIF Image API 3.0 (compliance level 1, jpg and png) over canonical arrays.

* ``/iiif/3/<id>`` redirects (303) to ``/iiif/3/<id>/info.json``.
* ``/iiif/3/<id>/info.json``: JSON-LD; the first request for a version in a session is the
  audited "opening" of that version (``version.view``).
* ``/iiif/3/<id>/{region}/{size}/{rotation}/{quality}.{format}``: read from the pyramid
  level that suits the scale, rendered once into the tile cache.
* ``/iiif/3/<id>/value?x=&y=``: the raw level-0 value under a pixel (JSON), for viewers.

Ids: ``<version_id>`` for a 2D image, ``<version_id>~z~<index>`` (``~y~``, ``~x~``) for the
XY (XZ, YZ) plane of a volume.

ctvault extension: image requests take ``?min=<number>&max=<number>`` to map that value
range to black..white. Without it 8-bit data is shown as stored and other data with the
0.5-99.5 % window of the stored histogram.

* ``/iiif/3/s/<expires>/<signature>/<digest>/<id>/…``: the same, through the signed tile
  link ``info.json`` hands out as the image's ``id`` (:mod:`lims.api.tilelinks`); behind
  nginx (``deploy/nginx/ctvault-tiles.conf``) stored tiles are served without ctvault.

Access: like every page, login is required (the guard) and ``viewing.viewable_version``
answers 404 for a version the user may not see; a signed link must also be valid, unexpired
and issued to the caller's session (403 otherwise). Errors are a short ``text/plain`` message
with the status the IIIF spec asks for (400 malformed, 404 unknown, 501 not implemented).
Tiles are immutable for a given array digest, so they carry a strong ETag and
``Cache-Control: private, max-age=31536000, immutable``; behind nginx
(``CTVAULT_TILE_ACCEL_PREFIX``) the bytes are sent by nginx with ``X-Accel-Redirect``
once the access check has passed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from lims.api import imageserver, tilelinks
from lims.errors import AuthenticationError, NotFoundError, PermissionDeniedError, UserError
from lims.imaging.tiles import MEDIA_TYPES, TileRequestError, parse_request
from lims.services import viewing
from lims.storage.arrays import NotCanonicalError
from lims.web import context

logger = logging.getLogger(__name__)

blueprint = Blueprint("iiif", __name__, url_prefix="/iiif/3")

INFO_MEDIA_TYPE = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
TILE_CACHE_CONTROL = "private, max-age=31536000, immutable"
# info.json is revalidated (ETag) so that each new session's opening reaches the server and
# is audited; its content never changes either.
INFO_CACHE_CONTROL = "private, no-cache"
VIEWED_KEY = "viewed_versions"
MAX_REMEMBERED = 1000
SEE_OTHER = 303
NOT_MODIFIED = 304
SERVER_ERROR = 500


def _plane(image_id: str) -> imageserver.Plane:
    """The plane of an id the caller may see (NotFoundError otherwise)."""
    image = imageserver.parse_image_id(image_id)
    viewable = viewing.viewable_version(context.service_context(), image.version_id)
    return imageserver.plane_of(image, viewable)


def _cors(response: BaseResponse) -> BaseResponse:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _not_modified(tag: str, cache_control: str) -> BaseResponse | None:
    if not request.if_none_match.contains(tag):
        return None
    response = Response(status=NOT_MODIFIED)
    response.set_etag(tag)
    response.headers["Cache-Control"] = cache_control
    return _cors(response)


def _record_opening(plane: imageserver.Plane) -> None:
    """Audit the first opening of a version in this session (one event per session)."""
    version = str(plane.image.version_id)
    viewed = [str(v) for v in session.get(VIEWED_KEY, [])]
    if version in viewed:
        return
    viewing.record_first_view(context.service_context(), plane.image.version_id)
    context.commit()
    session[VIEWED_KEY] = [*viewed, version][-MAX_REMEMBERED:]


@blueprint.get("/<image_id>")
def base(image_id: str) -> BaseResponse:
    """The image's base URI: 303 See Other to its info.json."""
    return redirect(url_for("iiif.info", image_id=image_id), code=SEE_OTHER)


@blueprint.get("/<image_id>/info.json")
def info(image_id: str) -> BaseResponse:
    """The image information (JSON-LD); the first one of a version per session is audited.

    Its ``id`` is a signed tile link (:mod:`lims.api.tilelinks`) bound to the caller's
    session, so tiles can come straight from nginx; a caller without a session cookie (an
    API token) gets the plain base URI, every tile of which is checked here.
    """
    plane = _plane(image_id)
    _record_opening(plane)
    link = _issue_link(plane)
    if link is None:
        base_uri = url_for("iiif.base", image_id=str(plane.image), _external=True)
    else:
        base_uri = url_for(
            "iiif.signed_base",
            expires=link.expires,
            signature=link.signature,
            digest=link.digest,
            image_id=str(plane.image),
            _external=True,
        )
    tag = imageserver.etag(plane, f"info|{base_uri}")
    unchanged = _not_modified(tag, INFO_CACHE_CONTROL)
    if unchanged is not None:
        return unchanged
    body = json.dumps(imageserver.info(plane, base_uri), separators=(",", ":"))
    response = Response(body, content_type=INFO_MEDIA_TYPE)
    response.set_etag(tag)
    response.headers["Cache-Control"] = INFO_CACHE_CONTROL
    return _cors(response)


@blueprint.get("/<image_id>/value")
def value(image_id: str) -> BaseResponse:
    """Ctvault extension: ``?x=&y=`` -> the raw level-0 value there and its voxel (JSON)."""
    plane = _plane(image_id)
    try:
        x, y = int(request.args["x"]), int(request.args["y"])
    except (KeyError, ValueError):
        raise TileRequestError("give the pixel as integers: ?x=<column>&y=<row>") from None
    response = Response(
        json.dumps(imageserver.value_at(plane, x, y)), content_type="application/json"
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    return _cors(response)


@blueprint.get("/<image_id>/<region>/<size>/<rotation>/<quality_format>")
def image(
    image_id: str, region: str, size: str, rotation: str, quality_format: str
) -> BaseResponse:
    """An image request; rendered once into the tile cache, then served from there."""
    return _image(_plane(image_id), (region, size, rotation, quality_format), linked=False)


_SIGNED = "/s/<int:expires>/<signature>/<digest>/<image_id>"


@blueprint.get(_SIGNED)
def signed_base(expires: int, signature: str, digest: str, image_id: str) -> BaseResponse:
    """A signed base URI: 303 See Other to its info.json (which issues a fresh link)."""
    _signed_plane(tilelinks.TileLink(expires, signature, digest), image_id)
    return redirect(url_for("iiif.info", image_id=image_id), code=SEE_OTHER)


@blueprint.get(f"{_SIGNED}/info.json")
def signed_info(expires: int, signature: str, digest: str, image_id: str) -> BaseResponse:
    """info.json under a signed base URI: the same as the plain one, with a fresh link."""
    _signed_plane(tilelinks.TileLink(expires, signature, digest), image_id)
    return info(image_id)


@blueprint.get(f"{_SIGNED}/<region>/<size>/<rotation>/<quality_format>")
def signed_image(  # noqa: PLR0917 - the URL's segments
    expires: int,
    signature: str,
    digest: str,
    image_id: str,
    region: str,
    size: str,
    rotation: str,
    quality_format: str,
) -> BaseResponse:
    """A tile through a signed link that nginx did not have yet (or a windowed one).

    The link, the session and the visibility of the version are all checked; a default
    tile is then stored under its URL's name, where nginx finds it from then on.
    """
    plane = _signed_plane(tilelinks.TileLink(expires, signature, digest), image_id)
    return _image(plane, (region, size, rotation, quality_format), linked=True)


def _signed_plane(link: tilelinks.TileLink, image_id: str) -> imageserver.Plane:
    """The plane of a signed link: a valid link for this session, then the full check."""
    tilelinks.verify(_link_secret(), link, _session_cookie(), now=_now())
    plane = _plane(image_id)
    if plane.digest != link.digest:
        raise NotFoundError(f"no image {image_id!r} with this array")
    return plane


def _issue_link(plane: imageserver.Plane) -> tilelinks.TileLink | None:
    cookie = _session_cookie()
    if not cookie:
        return None
    lifetime = context.resources().settings.tile_link_seconds
    return tilelinks.issue(_link_secret(), plane.digest, cookie, now=_now(), lifetime_s=lifetime)


def _link_secret() -> str:
    configured = context.resources().settings.tile_link_secret
    return configured or tilelinks.derive_secret(str(current_app.secret_key))


def _session_cookie() -> str | None:
    return request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])


def _now() -> float:
    return context.resources().clock.now().timestamp()


def _image(
    plane: imageserver.Plane, parts: tuple[str, str, str, str], *, linked: bool
) -> BaseResponse:
    tile = parse_request(*parts, width=plane.width, height=plane.height, limits=imageserver.LIMITS)
    window = imageserver.parse_window(request.args)
    key = imageserver.request_key(plane, tile, window)
    tag = imageserver.etag(plane, key)
    unchanged = _not_modified(tag, TILE_CACHE_CONTROL)
    if unchanged is not None:
        return unchanged
    settings = context.resources().settings
    cache_dir = settings.tile_cache_dir or settings.data_dir / "tiles"
    named = imageserver.link_relative_path(plane, parts) if linked and window is None else None
    path, relative = imageserver.cached_tile(cache_dir, plane, tile, window, named)
    response = _tile_response(path, relative, MEDIA_TYPES[tile.format], settings.tile_accel_prefix)
    response.set_etag(tag)
    response.headers["Cache-Control"] = TILE_CACHE_CONTROL
    return _cors(response)


def _tile_response(path: Path, relative: str, media_type: str, accel: str | None) -> BaseResponse:
    if accel:
        response = Response(content_type=media_type)
        response.headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{relative}"
        return response
    return send_file(path, mimetype=media_type, conditional=False, etag=False, max_age=None)


def _status(error: UserError) -> int:
    if isinstance(error, TileRequestError):
        return error.status
    for kind, status in (
        (NotCanonicalError, SERVER_ERROR),
        (NotFoundError, 404),
        (PermissionDeniedError, 403),
        (AuthenticationError, 401),
    ):
        if isinstance(error, kind):
            return status
    return 400


@blueprint.errorhandler(UserError)
def _error(error: UserError) -> Response:
    """IIIF errors: a short plain-text message and the status, never a page."""
    status = _status(error)
    if status == SERVER_ERROR:
        logger.error("image server: %s", error)
    return Response(f"{error}\n", status=status, content_type="text/plain; charset=utf-8")
