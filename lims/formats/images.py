"""Plain 2D images (PNG, JPEG, BMP) via Pillow, with our own pixel limit and no truncation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import BmpImagePlugin, Image, ImageFile, JpegImagePlugin, PngImagePlugin

from lims.formats._common import READ_ERRORS, PlaneSource, make_info, plain, read_head
from lims.formats.base import FormatError, SourceImage

#: Default largest image accepted (pixels); Pillow's own bomb limit is ~89 Mpx.
DEFAULT_MAX_PIXELS = 2**31

_PLUGINS: dict[bytes, tuple[str, type[ImageFile.ImageFile]]] = {
    b"\x89PNG\r\n\x1a\n": ("png", PngImagePlugin.PngImageFile),
    b"\xff\xd8\xff": ("jpeg", JpegImagePlugin.JpegImageFile),
    b"BM": ("bmp", BmpImagePlugin.BmpImageFile),
}
_MODES = {"L", "I;16", "I;16B", "I;16L", "I", "F", "RGB", "RGBA", "P", "1"}
_OPEN_ERRORS: tuple[type[Exception], ...] = (*READ_ERRORS, Image.DecompressionBombError)


def _plugin(path: Path) -> tuple[str, type[ImageFile.ImageFile]] | None:
    head = read_head(path, 8)
    return next((v for magic, v in _PLUGINS.items() if head.startswith(magic)), None)


class ImagesReader:
    """PNG, JPEG and BMP files as 2D images (grey, or RGB/RGBA as (y, x, c))."""

    name = "image"
    extensions = (".png", ".jpg", ".jpeg", ".bmp")

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        """Create a reader.

        Args:
            max_pixels: largest width * height accepted (replaces Pillow's bomb limit).
        """
        self.max_pixels = max_pixels

    def sniff(self, files: Sequence[Path]) -> bool:
        """True for one file with a PNG, JPEG or BMP signature."""
        return len(files) == 1 and _plugin(files[0]) is not None

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open a 2D image; pixels are decoded on the first read.

        Raises:
            FormatError: wrong signature, too many pixels, unsupported mode, truncated data.
        """
        if len(files) != 1:
            raise FormatError("a PNG/JPEG/BMP image is a single file")
        path = files[0]
        label = path.name
        found = _plugin(path)
        if found is None:
            raise FormatError(f"{label}: not a PNG, JPEG or BMP file (wrong magic)")
        kind, plugin = found
        try:
            # The plugin class, not Image.open: Image.open applies Pillow's global bomb limit.
            im = plugin(path)
        except _OPEN_ERRORS as exc:
            raise FormatError(f"{label}: corrupt {kind.upper()} ({exc})") from exc
        try:
            return self._source(im, kind, label)
        except BaseException:
            im.close()
            raise

    def _source(self, im: ImageFile.ImageFile, kind: str, label: str) -> SourceImage:
        width, height = im.size
        if width * height > self.max_pixels:
            raise FormatError(
                f"{label}: {width} x {height} pixels is more than the limit {self.max_pixels}"
            )
        mode = im.mode
        if mode not in _MODES:
            raise FormatError(f"{label}: unsupported {kind.upper()} mode {mode}")
        target = mode
        if mode == "P":
            target = "RGBA" if "transparency" in im.info else "RGB"
        elif mode == "1":
            target = "L"
        dtype, channels = _layout(target)
        # im.info: what the header holds (dpi, gamma, PNG text before the pixels); binary
        # entries (ICC profile, EXIF) are dropped by plain(). No im.text: it decodes everything.
        meta: dict[str, Any] = {"format": kind, "mode": mode, "info": plain(dict(im.info))}
        if target != mode:
            meta["converted_to"] = target
        shape = (height, width, channels) if channels else (height, width)
        info = make_info(
            label, shape=shape, dtype=dtype, voxel_size=None, format_name=kind,
            metadata=meta, colour=bool(channels),
        )  # fmt: skip
        cache: list[NDArray[Any]] = []

        def read(start: int, stop: int) -> NDArray[Any]:
            if not cache:  # Pillow decodes whole images; keep one decoded copy while open
                im.load()  # raises OSError on truncated data (LOAD_TRUNCATED_IMAGES stays off)
                pixels = im if target == mode else im.convert(target)
                cache.append(np.asarray(pixels))
            return cache[0][start:stop]

        def close() -> None:
            cache.clear()
            im.close()

        return PlaneSource(info, read, label, close=close)


def _layout(mode: str) -> tuple[np.dtype[Any], int]:
    """(dtype, channels) of a Pillow mode; channels 0 for greyscale."""
    if mode in {"RGB", "RGBA"}:
        return np.dtype(np.uint8), len(mode)
    dtypes = {"L": "u1", "I;16": "<u2", "I;16L": "<u2", "I;16B": ">u2", "I": "i4", "F": "f4"}
    return np.dtype(dtypes[mode]), 0
