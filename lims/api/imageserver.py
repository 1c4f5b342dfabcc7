"""The image server behind the IIIF endpoints: image ids, planes, windows, rendered tiles.

No Flask here: :mod:`lims.api.iiif` checks access (``viewing.viewable_version``) and speaks
HTTP; this module turns a viewable version plus a parsed request into image bytes, once, and
keeps them in the tile cache.

Image ids: ``<version_id>`` is a 2D image; ``<version_id>~z~<index>``, ``~y~`` and ``~x~`` are
the XY, XZ and YZ planes of a volume at that level-0 index (the plane normal to that axis).

Tile cache: ``<tile_cache_dir>/<digest[:2]>/<digest>/<key>.<format>``, where ``digest`` is
the canonical array digest and ``key`` a hash of the normalised request (plane, region, size,
rotation, quality, format and window). A tile is rendered once and written atomically
(temporary file + rename), so concurrent workers never serve half a file. Default-window
tiles asked through a signed tile link are stored under their URL's name instead
(:func:`link_relative_path`), where nginx finds them. The cache is safe to delete at any
time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lims.errors import NotFoundError
from lims.imaging import tiles, windowing
from lims.imaging.labels import colour_labels
from lims.services.viewing import ViewableVersion
from lims.storage.arrays import CanonicalArray

Axis = Literal["z", "y", "x"]
AXES: tuple[Axis, ...] = ("z", "y", "x")
SEPARATOR = "~"
TILE_SIZE = 256
# The largest image one request may ask for (IIIF maxArea): a screenful of a 32k mosaic.
LIMITS = tiles.Limits(max_area=4096 * 4096)
_EIGHT_BIT = np.dtype(np.uint8)
_LINK_REGION = re.compile(r"full|\d{1,9},\d{1,9},\d{1,9},\d{1,9}")
_LINK_SIZE = re.compile(r"max|\d{1,9},\d{0,9}")
_LINK_QUALITY = re.compile(r"(default|gray|color)\.(jpg|png)")


@dataclasses.dataclass(frozen=True, slots=True)
class ImageId:
    """A IIIF image: a 2D version (``axis`` None) or one plane of a volume."""

    version_id: uuid.UUID
    axis: Axis | None = None
    index: int = 0

    def __str__(self) -> str:
        if self.axis is None:
            return str(self.version_id)
        return f"{self.version_id}{SEPARATOR}{self.axis}{SEPARATOR}{self.index}"


def parse_image_id(text: str) -> ImageId:
    """``<uuid>`` or ``<uuid>~<axis>~<index>``.

    Raises:
        NotFoundError: anything else (an unknown identifier is a 404 in IIIF).
    """
    parts = text.split(SEPARATOR)
    try:
        version_id = uuid.UUID(parts[0])
    except ValueError:
        raise NotFoundError(f"no image {text!r}") from None
    if len(parts) == 1:
        return ImageId(version_id)
    if len(parts) == 3 and parts[1] in AXES and parts[2].isascii() and parts[2].isdigit():  # noqa: PLR2004
        axis: Axis = parts[1]
        return ImageId(version_id, axis, int(parts[2]))
    raise NotFoundError(f"no image {text!r}: a plane is <version>~z|y|x~<index>")


@dataclasses.dataclass(frozen=True, slots=True)
class Plane:
    """One 2D image of a viewable version: its size, the array and how to read it."""

    image: ImageId
    viewable: ViewableVersion
    width: int
    height: int
    levels: int
    dtype: np.dtype[Any]
    channels: int

    @property
    def digest(self) -> str:
        """Array digest of the canonical array (level 0)."""
        return self.viewable.array_digest

    @property
    def read_axis(self) -> Axis:
        """The axis to pass to ``CanonicalArray.region`` (2D images read plane "z" 0)."""
        return self.image.axis or "z"


def is_volume(viewable: ViewableVersion) -> bool:
    """True for volumes: they have orthoslice previews (or a 4-D shape: volume + channels)."""
    shape = _shape(viewable.attributes)
    return "ortho_z" in viewable.derivatives or len(shape) == 4  # noqa: PLR2004


def plane_of(image: ImageId, viewable: ViewableVersion) -> Plane:
    """The plane ``image`` names in ``viewable``.

    Raises:
        NotFoundError: a plane id for a 2D image, a bare id for a volume, or an index
            outside the volume.
    """
    attributes = viewable.attributes
    shape = _shape(attributes)
    dtype = np.dtype(str(attributes.get("dtype", "|u1")))
    levels = int(str(attributes.get("levels", 1)))
    if is_volume(viewable):
        if image.axis is None:
            raise NotFoundError(
                f"version {image.version_id} is a volume: ask for a plane,"
                f" {image.version_id}~z~<index> (or ~y~, ~x~)"
            )
        position = AXES.index(image.axis)
        if not 0 <= image.index < shape[position]:
            raise NotFoundError(
                f"no plane {image.axis}={image.index}: the volume has {image.axis}=0 to"
                f" {shape[position] - 1}"
            )
        height, width = (n for i, n in enumerate(shape[:3]) if i != position)
        channels = shape[3] if len(shape) == 4 else 1  # noqa: PLR2004
    else:
        if image.axis is not None:
            raise NotFoundError(f"version {image.version_id} is a 2D image: use its id alone")
        height, width = shape[0], shape[1]
        channels = shape[2] if len(shape) == 3 else 1  # noqa: PLR2004
    return Plane(image, viewable, width, height, levels, dtype, channels)


def info(plane: Plane, base_uri: str) -> dict[str, Any]:
    """The IIIF ``info.json`` of a plane (one tile scale factor per pyramid level)."""
    return tiles.info_json(
        base_uri,
        plane.width,
        plane.height,
        TILE_SIZE,
        [2**k for k in range(plane.levels)],
        is_color=plane.channels >= 3,  # noqa: PLR2004
        limits=LIMITS,
    )


Window = tuple[float, float] | None


def parse_window(args: Mapping[str, str]) -> Window:
    """The ctvault extension ``?min=&max=`` (both, finite, min < max), or None for the default.

    Raises:
        tiles.TileRequestError: only one of them, not numbers, or min >= max (400).
    """
    low, high = args.get("min"), args.get("max")
    if low is None and high is None:
        return None
    if low is None or high is None:
        raise tiles.TileRequestError("give both min and max for a window, or neither")
    try:
        window = float(low), float(high)
    except ValueError:
        raise tiles.TileRequestError("min and max must be numbers") from None
    if not all(math.isfinite(v) for v in window) or window[0] >= window[1]:
        raise tiles.TileRequestError("min must be below max, both finite")
    return window


def default_window(dtype: np.dtype[Any], histogram: Sequence[int], low: Any, high: Any) -> Window:  # noqa: ANN401
    """None (show the values as they are) for 8-bit and boolean data, else the 0.5-99.5 % window.

    ``low``/``high`` are the stored minimum and maximum (None when no finite value exists).
    """
    if dtype == _EIGHT_BIT or dtype.kind == "b":
        return None
    if low is None or high is None:
        return 0.0, 1.0
    return windowing.auto_window(histogram, float(low), float(high))


def request_key(plane: Plane, request: tiles.TileRequest, window: Window) -> str:
    """The normalised request: equal for every URL that gives the same bytes."""
    fields = dataclasses.astuple(request)
    shown = "auto" if window is None else f"{window[0]!r}:{window[1]!r}"
    return f"{plane.image}|{'/'.join(str(f) for f in fields)}|{shown}"


def etag(plane: Plane, key: str) -> str:
    """Strong entity tag of a tile: array digest plus the normalised request."""
    return hashlib.sha256(f"{plane.digest}|{key}".encode()).hexdigest()[:40]


def cache_relative_path(plane: Plane, key: str, fmt: str) -> str:
    """Where a tile lives below the tile cache folder (also the X-Accel-Redirect suffix)."""
    digest = plane.digest
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{digest[:2]}/{digest}/{name}.{fmt}"


def link_relative_path(plane: Plane, parts: Sequence[str]) -> str | None:
    """Where a default-window tile lives for nginx, named by its URL; None if not such a tile.

    ``parts`` are the four URL segments (region, size, rotation, quality.format). The path
    is ``iiif/<digest>/p[<axis><index>]/<region>/<size>/<rotation>/<quality>.<format>``, so
    nginx finds it from a signed tile URL alone (``deploy/nginx/ctvault.conf``). Only the
    plain forms OpenSeadragon and other IIIF clients use are named this way.
    """
    region, size, rotation, quality_format = parts
    if not (
        _LINK_REGION.fullmatch(region)
        and _LINK_SIZE.fullmatch(size)
        and rotation == "0"
        and _LINK_QUALITY.fullmatch(quality_format)
    ):
        return None
    axis = "" if plane.image.axis is None else f"{plane.image.axis}{plane.image.index}"
    return f"iiif/{plane.digest}/p{axis}/{region}/{size}/{rotation}/{quality_format}"


def cached_tile(
    cache_dir: Path,
    plane: Plane,
    request: tiles.TileRequest,
    window: Window,
    relative: str | None = None,
) -> tuple[Path, str]:
    """Path of the rendered tile in the cache (rendered now if missing) and its relative path.

    ``relative`` names the file (:func:`link_relative_path`); default: a hash of the request.
    """
    if relative is None:
        key = request_key(plane, request, window)
        relative = cache_relative_path(plane, key, request.format)
    path = cache_dir / relative
    if not path.is_file():
        data = render_tile(plane, request, window)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            partial.write_bytes(data)
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return path, relative


def render_tile(plane: Plane, request: tiles.TileRequest, window: Window) -> bytes:
    """Read the region from the chosen pyramid level, window it to 8 bits, render, encode."""
    with CanonicalArray(plane.viewable.canonical_path) as array:
        level = tiles.choose_level(request, array.levels)
        level_plane = _plane_shape(array.shape(level), plane)
        y0, y1, x0, x1 = tiles.level_box(request, level, level_plane)
        region = array.region(level, y0, y1, x0, x1, axis=plane.read_axis, index=plane.image.index)
        if array.info.kind == "label":
            # Label images (processing outputs) are drawn as coloured overlays.
            return tiles.encode(
                tiles.render(colour_labels(region), request, nearest=True), request.format
            )
        if window is None:
            stats = array.stats
            window = default_window(plane.dtype, stats.histogram, stats.minimum, stats.maximum)
        shown = display(region, window)
    return tiles.encode(tiles.render(shown, request), request.format)


def value_at(plane: Plane, x: int, y: int) -> dict[str, Any]:
    """The raw level-0 value at plane pixel (x, y), with its voxel coordinates.

    Raises:
        tiles.TileRequestError: (x, y) outside the plane (400).
    """
    if not (0 <= x < plane.width and 0 <= y < plane.height):
        raise tiles.TileRequestError(
            f"({x}, {y}) is outside the {plane.width}x{plane.height} image"
        )
    with CanonicalArray(plane.viewable.canonical_path) as array:
        raw = array.region(0, y, y + 1, x, x + 1, axis=plane.read_axis, index=plane.image.index)
    value = raw[0, 0]
    shown: Any = value.tolist() if isinstance(value, np.ndarray) else value.item()
    voxel: dict[str, int] = {"y": y, "x": x}
    axis = plane.image.axis
    if axis == "z":
        voxel = {"z": plane.image.index, "y": y, "x": x}
    elif axis == "y":
        voxel = {"z": y, "y": plane.image.index, "x": x}
    elif axis == "x":
        voxel = {"z": y, "y": x, "x": plane.image.index}
    if isinstance(shown, float) and not math.isfinite(shown):
        shown = str(shown)
    return {"image": str(plane.image), "x": x, "y": y, "voxel": voxel, "value": shown}


def display(region: NDArray[Any], window: Window) -> NDArray[np.uint8]:
    """The 8-bit image of a region under a window (None: 8-bit data as stored).

    Integers of at most 16 bits go through a lookup table made by the same
    :func:`windowing.window` over every possible value: identical pixels, one pass over
    the region instead of several float passes (the cost of a 16-bit plane).
    """
    if window is None:
        if region.dtype == _EIGHT_BIT:
            return region
        return (region.astype(bool) * 255).astype(np.uint8)
    if region.dtype.kind in "ui" and region.dtype.itemsize <= 2:  # noqa: PLR2004
        info = np.iinfo(region.dtype)
        values = np.arange(info.min, info.max + 1, dtype=np.int64).astype(region.dtype)
        table = windowing.window(values, window[0], window[1])
        if info.min:  # signed: flipping the sign bit maps min..max to 0..2**bits-1
            region = region.view(f"u{region.dtype.itemsize}") ^ (-info.min)
        shown: NDArray[np.uint8] = table[region]
        return shown
    return windowing.window(region, window[0], window[1])


def _plane_shape(level_shape: tuple[int, ...], plane: Plane) -> tuple[int, ...]:
    if plane.image.axis is None:
        return level_shape
    position = AXES.index(plane.image.axis)
    return tuple(n for i, n in enumerate(level_shape) if i != position)


def _shape(attributes: Mapping[str, object]) -> list[int]:
    raw = attributes.get("shape")
    if not isinstance(raw, list | tuple):
        return [0, 0]
    return [int(n) for n in raw]
