"""Window/level: map an intensity range to 0..255 for display."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def window(array: NDArray[Any], low: float, high: float) -> NDArray[np.uint8]:
    """Map [low, high] linearly to [0, 255], clipping outside; NaN becomes 0.

    When ``high <= low`` the result is a threshold: 255 where ``array > low``, else 0.
    """
    values = np.asarray(array)
    if high <= low:
        threshold: NDArray[np.uint8] = np.where(values > low, 255, 0).astype(np.uint8)
        return threshold
    scaled = (values.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    np.clip(scaled, 0, 255, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    display: NDArray[np.uint8] = np.rint(scaled).astype(np.uint8)
    return display


def auto_window(
    histogram: Sequence[int],
    minimum: float,
    maximum: float,
    *,
    low_percentile: float = LOW_PERCENTILE,
    high_percentile: float = HIGH_PERCENTILE,
) -> tuple[float, float]:
    """Window from a histogram over [minimum, maximum]: its 0.5 and 99.5 percentiles.

    Percentiles are resolved to bin edges (the low edge of the bin holding the low
    percentile, the high edge of the bin holding the high one), which is what a stored
    256-bin histogram allows. An empty histogram gives (minimum, maximum).
    """
    counts = np.asarray(histogram, dtype=np.float64)
    total = counts.sum()
    if total <= 0 or maximum <= minimum:
        return float(minimum), float(maximum)
    cumulative = np.cumsum(counts) / total
    width = (maximum - minimum) / len(counts)
    low_bin = int(np.searchsorted(cumulative, low_percentile / 100.0, side="right"))
    high_bin = int(np.searchsorted(cumulative, high_percentile / 100.0, side="left"))
    low = minimum + min(low_bin, len(counts) - 1) * width
    high = minimum + (min(high_bin, len(counts) - 1) + 1) * width
    return float(low), float(max(high, low))


def percentile_window(
    array: NDArray[Any],
    *,
    low_percentile: float = LOW_PERCENTILE,
    high_percentile: float = HIGH_PERCENTILE,
) -> tuple[float, float]:
    """Window from the array's own 0.5 and 99.5 percentiles (finite values only)."""
    values = np.asarray(array)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, [low_percentile, high_percentile])
    return float(low), float(high)
