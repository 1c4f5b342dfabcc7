"""Colouring label images for overlays: background clear, each label its own stable colour."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_GOLDEN = 0.6180339887498949


def colour_labels(labels: NDArray[Any]) -> NDArray[np.uint8]:
    """RGBA image of a label image: 0 transparent, label n an opaque, well-separated hue.

    The colour depends only on the label value, so every tile and every plane agree.
    """
    values = np.asarray(labels).astype(np.float64)
    hue = (values * _GOLDEN) % 1.0
    sector = np.floor(hue * 6.0)
    fraction = hue * 6.0 - sector
    value, low = 0.95, 0.25
    falling = value - (value - low) * fraction
    rising = low + (value - low) * fraction
    sector = sector.astype(np.int64) % 6
    red = np.choose(sector, [value, falling, low, low, rising, value])
    green = np.choose(sector, [rising, value, value, falling, low, low])
    blue = np.choose(sector, [low, low, rising, value, value, falling])
    rgba = np.empty((*values.shape, 4), dtype=np.uint8)
    rgba[..., 0] = np.round(red * 255)
    rgba[..., 1] = np.round(green * 255)
    rgba[..., 2] = np.round(blue * 255)
    rgba[..., 3] = np.where(values != 0, 255, 0)
    return rgba
