"""IIIF Image API 3.0: parse a request, pick the pyramid level, render, encode, info.json.

Pure arithmetic and Pillow; the web layer reads the pixels (``level_box`` says which) and
windows them to 8 bits. Parameters are parsed in the order of the URL
``{region}/{size}/{rotation}/{quality}.{format}``; the first bad one raises
:class:`TileRequestError` with the HTTP status the spec asks for (400 for a malformed or
impossible request, 501 for a valid feature this server does not implement).
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from lims.errors import UserError
from lims.imaging.pyramid import level_shapes

CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
EXTRA_FEATURES = (
    "mirroring",
    "regionByPct",
    "rotationBy90s",
    "sizeByConfinedWh",
    "sizeByPct",
    "sizeUpscaling",
)
JPEG_QUALITY = 90
_KNOWN_FORMATS = ("jpg", "tif", "png", "gif", "jp2", "pdf", "webp")
_KNOWN_QUALITIES = ("default", "color", "gray", "bitonal")
_INT = r"(\d+)"
_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_PIXEL_REGION = re.compile(rf"{_INT},{_INT},{_INT},{_INT}")
_PCT_REGION = re.compile(rf"pct:{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}")
_SIZE_WH = re.compile(r"(!?)(\d*),(\d*)")
_SIZE_PCT = re.compile(rf"pct:{_NUMBER}")
_ROTATION = re.compile(rf"(!?){_NUMBER}")


class TileRequestError(UserError):
    """An IIIF request that cannot be served; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Server limits on the returned image (published in info.json as maxWidth etc.)."""

    max_width: int | None = None
    max_height: int | None = None
    max_area: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TileRequest:
    """A parsed request: region in full-resolution pixels, output size before rotation."""

    x: int
    y: int
    region_width: int
    region_height: int
    width: int
    height: int
    rotation: int = 0
    mirror: bool = False
    quality: str = "default"
    format: str = "jpg"


def parse_request(
    region: str,
    size: str,
    rotation: str,
    quality_format: str,
    *,
    width: int,
    height: int,
    limits: Limits | None = None,
) -> TileRequest:
    """Parse the four path parameters of an image request for a ``width`` x ``height`` image.

    Raises:
        TileRequestError: the first parameter that is malformed (400) or not implemented (501).
    """
    x, y, region_width, region_height = parse_region(region, width, height)
    out_width, out_height = parse_size(size, region_width, region_height, limits or Limits())
    degrees, mirror = parse_rotation(rotation)
    quality, fmt = parse_quality_format(quality_format)
    return TileRequest(
        x, y, region_width, region_height, out_width, out_height, degrees, mirror, quality, fmt
    )


def parse_region(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """``full``, ``square``, ``x,y,w,h`` or ``pct:x,y,w,h`` -> (x, y, w, h) cropped to the image.

    Raises:
        TileRequestError: malformed, zero width or height, or entirely outside the image (400).
    """
    if text == "full":
        return 0, 0, width, height
    if text == "square":
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, side, side
    if match := _PIXEL_REGION.fullmatch(text):
        x, y, w, h = (int(v) for v in match.groups())
    elif match := _PCT_REGION.fullmatch(text):
        px, py, pw, ph = (float(v) for v in match.groups())
        if pw <= 0 or ph <= 0:
            raise TileRequestError(f"region {text!r} has no area")
        x, y = round(px * width / 100), round(py * height / 100)
        w = max(1, round(pw * width / 100))
        h = max(1, round(ph * height / 100))
    else:
        raise TileRequestError(f"region {text!r} is not full, square, x,y,w,h or pct:x,y,w,h")
    if w <= 0 or h <= 0:
        raise TileRequestError(f"region {text!r} has no area")
    if x >= width or y >= height:
        raise TileRequestError(f"region {text!r} is outside the {width}x{height} image")
    return x, y, min(w, width - x), min(h, height - y)


def parse_size(text: str, region_width: int, region_height: int, limits: Limits) -> tuple[int, int]:
    """IIIF 3.0 size (``max``, ``w,``, ``,h``, ``pct:n``, ``w,h``, ``!w,h``, each with ``^``).

    Without ``^`` the result may not be larger than the region; with it, it may (up to the
    limits). ``max`` is the region size, shrunk to fit the limits.

    Raises:
        TileRequestError: malformed, zero-sized, larger than the region without ``^``, or
            beyond the server limits (400).
    """
    upscale = text.startswith("^")
    body = text[1:] if upscale else text
    if body == "max":
        scale = _fit_scale(region_width, region_height, limits, upscale=upscale)
        out = (max(1, math.floor(region_width * scale)), max(1, math.floor(region_height * scale)))
    elif match := _SIZE_PCT.fullmatch(body):
        percent = float(match.group(1))
        out = (round(region_width * percent / 100), round(region_height * percent / 100))
    elif match := _SIZE_WH.fullmatch(body):
        out = _size_wh(text, match, region_width, region_height, upscale=upscale)
    else:
        raise TileRequestError(f"size {text!r} is not a IIIF 3.0 size")
    if min(out) < 1:
        raise TileRequestError(f"size {text!r} gives an empty image")
    if not upscale and (out[0] > region_width or out[1] > region_height):
        raise TileRequestError(f"size {text!r} is larger than the region; use ^ to upscale")
    _check_limits(text, out, limits)
    return out


def parse_rotation(text: str) -> tuple[int, bool]:
    """``n`` or ``!n`` (mirror first) -> (degrees clockwise, mirror); multiples of 90 only.

    Raises:
        TileRequestError: malformed or above 360 (400); other angles are not implemented (501).
    """
    match = _ROTATION.fullmatch(text)
    if match is None or float(match.group(2)) > 360:  # noqa: PLR2004
        raise TileRequestError(f"rotation {text!r} is not a number from 0 to 360")
    degrees = float(match.group(2))
    if degrees % 90:
        raise TileRequestError(f"rotation {text!r}: only multiples of 90 are supported", 501)
    return int(degrees) % 360, bool(match.group(1))


def parse_quality_format(text: str) -> tuple[str, str]:
    """``{quality}.{format}`` -> (quality, format); qualities default/color/gray, jpg or png.

    Raises:
        TileRequestError: malformed or unknown (400); bitonal or another IIIF format (501).
    """
    quality, dot, fmt = text.rpartition(".")
    if not dot or quality not in _KNOWN_QUALITIES or fmt not in _KNOWN_FORMATS:
        raise TileRequestError(f"{text!r} is not {{quality}}.{{format}}")
    if quality == "bitonal":
        raise TileRequestError("quality bitonal is not supported", 501)
    if fmt not in MEDIA_TYPES:
        raise TileRequestError(f"format {fmt} is not supported (jpg, png)", 501)
    return quality, fmt


def choose_level(request: TileRequest, levels: int) -> int:
    """The coarsest pyramid level that still has at least the requested resolution."""
    scale = min(request.region_width / request.width, request.region_height / request.height)
    level = 0
    while level + 1 < levels and 2 ** (level + 1) <= scale + 1e-9:
        level += 1
    return level


def level_box(
    request: TileRequest, level: int, level_shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the request's region in pixels of ``level`` (shape (h, w, ...))."""
    factor = 2**level
    y0, x0 = request.y // factor, request.x // factor
    y1 = min(level_shape[0], -(-(request.y + request.region_height) // factor))
    x1 = min(level_shape[1], -(-(request.x + request.region_width) // factor))
    return y0, max(y1, y0 + 1), x0, max(x1, x0 + 1)


def render(
    display: NDArray[np.uint8], request: TileRequest, *, nearest: bool = False
) -> Image.Image:
    """Scale an 8-bit region to the requested size, then quality, mirror and rotation.

    ``nearest`` keeps label colours pure (no blending between neighbouring labels).
    """
    image = Image.fromarray(np.ascontiguousarray(display))
    if image.size != (request.width, request.height):
        resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
        image = image.resize((request.width, request.height), resample)
    if request.quality == "gray" and image.mode != "L":
        image = image.convert("L")
    if request.mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180}
    turns[270] = Image.Transpose.ROTATE_90  # Pillow turns counter-clockwise, IIIF clockwise
    if request.rotation:
        image = image.transpose(turns[request.rotation])
    return image


def encode(array: NDArray[np.uint8] | Image.Image, fmt: str) -> bytes:
    """JPEG (quality 90, alpha dropped) or PNG bytes of an 8-bit image."""
    if fmt not in MEDIA_TYPES:
        raise TileRequestError(f"format {fmt} is not supported (jpg, png)", 501)
    image = (
        array if isinstance(array, Image.Image) else Image.fromarray(np.ascontiguousarray(array))
    )
    buffer = io.BytesIO()
    if fmt == "jpg":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def info_json(
    base_uri: str,
    width: int,
    height: int,
    tile: int = 256,
    scale_factors: list[int] | None = None,
    *,
    is_color: bool = False,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """The IIIF Image API 3.0 ``info.json`` (compliance level 1, plus the extra features).

    ``scale_factors`` defaults to one per pyramid level (1, 2, 4, ...); ``sizes`` lists the
    pyramid levels' sizes (smallest first) that the limits allow.
    """
    limits = limits or Limits()
    shapes = level_shapes((height, width), 2)
    factors = scale_factors or [2**k for k in range(len(shapes))]
    sizes = [
        {"width": w, "height": h}
        for h, w in reversed(shapes)
        if limits.max_area is None or w * h <= limits.max_area
    ]
    info: dict[str, Any] = {
        "@context": CONTEXT,
        "id": base_uri.rstrip("/"),
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": "level1",
        "width": width,
        "height": height,
        "sizes": sizes,
        "tiles": [{"width": tile, "height": tile, "scaleFactors": factors}],
        "extraFormats": ["png"],
        "extraQualities": ["gray", "color"] if is_color else ["gray"],
        "extraFeatures": list(EXTRA_FEATURES),
    }
    maxima = {"maxWidth": limits.max_width, "maxHeight": limits.max_height}
    maxima["maxArea"] = limits.max_area
    info.update({key: value for key, value in maxima.items() if value is not None})
    return info


def _size_wh(
    text: str, match: re.Match[str], region_width: int, region_height: int, *, upscale: bool
) -> tuple[int, int]:
    confined, w_text, h_text = match.groups()
    if confined:
        if not w_text or not h_text:
            raise TileRequestError(f"size {text!r}: !w,h needs both w and h")
        w, h = int(w_text), int(h_text)
        scale = min(w / region_width, h / region_height)
        if not upscale:
            scale = min(scale, 1.0)
        return min(w, round(region_width * scale)), min(h, round(region_height * scale))
    if w_text and h_text:
        return int(w_text), int(h_text)
    if w_text:
        w = int(w_text)
        return w, round(region_height * w / region_width)
    if h_text:
        h = int(h_text)
        return round(region_width * h / region_height), h
    raise TileRequestError(f"size {text!r} names neither width nor height")


def _fit_scale(region_width: int, region_height: int, limits: Limits, *, upscale: bool) -> float:
    """Largest scale (at most 1 unless ``upscale``) that keeps the region within the limits."""
    scales = [] if upscale else [1.0]
    if limits.max_width is not None:
        scales.append(limits.max_width / region_width)
    if limits.max_height is not None:
        scales.append(limits.max_height / region_height)
    if limits.max_area is not None:
        scales.append(math.sqrt(limits.max_area / (region_width * region_height)))
    return min(scales) if scales else 1.0


def _check_limits(text: str, out: tuple[int, int], limits: Limits) -> None:
    w, h = out
    if (
        (limits.max_width is not None and w > limits.max_width)
        or (limits.max_height is not None and h > limits.max_height)
        or (limits.max_area is not None and w * h > limits.max_area)
    ):
        raise TileRequestError(f"size {text!r} ({w}x{h}) exceeds the server's limits")
