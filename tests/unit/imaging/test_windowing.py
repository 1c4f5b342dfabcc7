"""Window/level to 8 bits, and automatic windows from histograms and percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from lims.imaging.windowing import auto_window, percentile_window, window


def test_window_maps_linearly_and_clips() -> None:
    values = np.array([-10, 0, 50, 100, 1000], np.int32)
    np.testing.assert_array_equal(window(values, 0, 100), [0, 0, 128, 255, 255])
    assert window(values, 0, 100).dtype == np.uint8


def test_window_nan_and_degenerate_range() -> None:
    np.testing.assert_array_equal(window(np.array([np.nan, 1.0]), 0, 2), [0, 128])
    np.testing.assert_array_equal(window(np.array([1, 5, 9]), 5, 5), [0, 0, 255])


def test_auto_window_from_histogram_percentiles() -> None:
    histogram = [0] * 256
    histogram[0], histogram[100], histogram[255] = 1, 998, 1
    low, high = auto_window(histogram, 0.0, 256.0)
    assert (low, high) == (100.0, 101.0)  # 0.1 % outliers at each end are cut


def test_auto_window_empty_histogram() -> None:
    assert auto_window([0] * 256, 3.0, 9.0) == (3.0, 9.0)


def test_percentile_window() -> None:
    values = np.arange(1001, dtype=np.float32)
    values[0] = np.inf
    low, high = percentile_window(values)
    assert low == pytest.approx(6.0, abs=0.01)
    assert high == pytest.approx(995.0, abs=0.01)
    assert percentile_window(np.array([np.nan])) == (0.0, 1.0)
