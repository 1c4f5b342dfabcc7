"""Pyramid means of 64-bit integers at the ends of their range stay inside it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lims.imaging.pyramid import downsample


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_extremes_do_not_overflow(dtype: type[np.integer]) -> None:
    info = np.iinfo(dtype)
    for value in (info.max, info.min):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "invalid value encountered in cast"
            reduced = downsample(np.full((2, 2, 3), value, dtype), 3)
        assert reduced.dtype == dtype
        # float64 accumulation: within 2**11 of the value, never wrapped around
        assert abs(int(reduced.max()) - int(value)) <= 2048
