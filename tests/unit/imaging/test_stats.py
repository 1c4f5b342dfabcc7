"""Streaming min, max and 256-bin histogram equal numpy's on the whole array."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lims.imaging.stats import BINS, StatsAccumulator


def _stream(array: np.ndarray, rows: int) -> StatsAccumulator:
    stats = StatsAccumulator(array.dtype)
    blocks = [array[i : i + rows] for i in range(0, len(array), rows)]
    for block in blocks:
        stats.update(block)
    if stats.needs_second_pass:
        for block in blocks:
            stats.update_histogram(block)
    return stats


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from(["|u1", "|i1", "<u2", "<i2", ">i2", "<u4", "<i8", "<f4", "<f8"]),
        shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=8),
        elements={"allow_nan": False, "allow_infinity": False},
    ),
    st.integers(1, 4),
)
def test_stats_equal_numpy(array: np.ndarray, rows: int) -> None:
    result = _stream(array, rows).result()
    assert result.minimum == array.min()
    assert result.maximum == array.max()
    assert result.histogram == _numpy_histogram(array)


def _numpy_histogram(array: np.ndarray) -> tuple[int, ...]:
    low, high = array.min(), array.max()
    if low == high:
        return tuple(array.size if i == BINS // 2 else 0 for i in range(BINS))
    values = array.astype(np.float64)
    scale = 1.0 if np.isfinite(float(high) - float(low)) else 0.5
    expected, _ = np.histogram(
        values * scale, bins=BINS, range=(float(low) * scale, float(high) * scale)
    )
    return tuple(int(c) for c in expected)


def test_range_wider_than_float64_is_binned_not_refused() -> None:
    huge = np.array([[-1.7976931348623157e308, 0.0, 9.97920155e291]], np.float64)
    result = _stream(huge, 1).result()
    assert (result.minimum, result.maximum) == (huge.min(), huge.max())
    assert result.histogram[0] == 1
    assert result.histogram[-1] == 2
    assert sum(result.histogram) == 3


def test_all_nan_has_no_range() -> None:
    result = _stream(np.full((2, 2), np.nan, np.float32), 1).result()
    assert (result.minimum, result.maximum, sum(result.histogram)) == (None, None, 0)


def test_constant_image() -> None:
    result = _stream(np.full((3, 3), 7, np.uint16), 2).result()
    assert (result.minimum, result.maximum) == (7, 7)
    assert result.histogram[128] == 9
    assert sum(result.histogram) == 9
    floats = _stream(np.full((3, 3), 65536, np.float32), 2).result()
    assert floats.histogram[128] == 9
