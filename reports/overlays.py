"""Label overlays for reports: a label output drawn in colour over the input it labels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from lims.imaging.labels import colour_labels
from lims.imaging.thumbnails import to_display
from lims.storage.arrays import CanonicalArray

MAX_SIDE = 1024
ALPHA = 0.45


def _level(array: CanonicalArray) -> int:
    for level in range(array.levels):
        if max(array.shape(level)[-2:]) <= MAX_SIDE:
            return level
    return array.levels - 1


def overlay_png(image_path: Path, labels_path: Path) -> bytes | None:
    """The central XY plane of an image with its labels over it (None if shapes differ)."""
    with CanonicalArray(image_path) as image, CanonicalArray(labels_path) as labels:
        if image.shape(0) != labels.shape(0):
            return None
        level = _level(image)
        if image.shape(level) != labels.shape(level):
            return None
        middle = image.shape(level)[0] // 2 if len(image.shape(level)) == 3 else 0  # noqa: PLR2004
        grey = to_display(image.plane("z", middle, level)).astype(np.float64)
        colours = colour_labels(labels.plane("z", middle, level)).astype(np.float64)
    weight = (colours[..., 3:4] / 255.0) * ALPHA
    rgb = np.repeat(grey[..., None], 3, axis=2) * (1 - weight) + colours[..., :3] * weight
    buffer = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()
