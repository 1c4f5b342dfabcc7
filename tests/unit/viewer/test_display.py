"""The 8-bit display of a region: the lookup-table path equals windowing.window exactly."""

from __future__ import annotations

import numpy as np
import pytest

from lims.api.imageserver import display
from lims.imaging.windowing import window

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("dtype", ["u1", "i1", "<u2", "<i2", "<i4", "<f4"])
@pytest.mark.parametrize("shown", [(0.0, 255.0), (-100.5, 3000.25), (1000.0, 1001.0)])
def test_display_equals_window(dtype: str, shown: tuple[float, float]) -> None:
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else np.iinfo(np.int16)
    region = RNG.integers(max(info.min, -40000), min(info.max, 40000), (37, 53)).astype(dtype)
    region[0, :3] = [max(info.min, -40000), 0, min(info.max, 40000) - 1]
    np.testing.assert_array_equal(display(region, shown), window(region, *shown))


def test_colour_regions_keep_their_channels() -> None:
    region = RNG.integers(0, 65535, (8, 9, 3)).astype(np.uint16)
    shown = display(region, (100.0, 60000.0))
    assert shown.shape == (8, 9, 3)
    np.testing.assert_array_equal(shown, window(region, 100.0, 60000.0))


def test_no_window_shows_8_bit_data_as_stored() -> None:
    region = RNG.integers(0, 255, (5, 5)).astype(np.uint8)
    assert display(region, None) is region
