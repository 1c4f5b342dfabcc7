"""The x2 pyramid arithmetic: level shapes, block means, strides, streaming = whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lims.imaging.pyramid import PlaneReducer, downsample, level_shapes


def test_level_shapes_round_up_until_256() -> None:
    assert level_shapes((32000, 27000), 2) == [
        (32000, 27000),
        (16000, 13500),
        (8000, 6750),
        (4000, 3375),
        (2000, 1688),
        (1000, 844),
        (500, 422),
        (250, 211),
    ]
    assert level_shapes((4096, 1024, 1024), 3)[-1] == (256, 64, 64)
    assert level_shapes((10, 256, 256), 3) == [(10, 256, 256)]
    assert level_shapes((3, 600, 300, 3), 3)[1] == (2, 300, 150, 3)


def test_mean_of_existing_elements_at_odd_edges() -> None:
    image = np.array([[1, 2, 10], [3, 5, 20], [7, 7, 7]], np.uint8)
    # blocks: [[1,2],[3,5]] -> 2.75 -> 3; [[10],[20]] -> 15; [[7,7]] -> 7; [[7]] -> 7
    np.testing.assert_array_equal(downsample(image, 2), [[3, 15], [7, 7]])


def test_integer_means_round_half_up_including_negatives() -> None:
    image = np.array([[-3, -2], [-2, -2]], np.int8)  # mean -2.25 -> -2
    assert downsample(image, 2)[0, 0] == -2
    image = np.array([[-3, -3], [-2, -2]], np.int8)  # mean -2.5 -> -2 (half up)
    assert downsample(image, 2)[0, 0] == -2
    image = np.array([[1, 2], [2, 2]], np.uint16)  # 1.75 -> 2
    assert downsample(image, 2)[0, 0] == 2


def test_no_overflow_at_the_top_of_the_range() -> None:
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(dtype)
        for value in (info.min, info.max):
            volume = np.full((3, 3, 3), value, dtype)
            np.testing.assert_array_equal(downsample(volume, 3), np.full((2, 2, 2), value, dtype))


def test_float_mean() -> None:
    volume = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    assert downsample(volume, 3).dtype == np.float32
    assert downsample(volume, 3)[0, 0, 0] == pytest.approx(3.5)


def test_label_stride_keeps_values() -> None:
    labels = np.array([[5, 1, 9], [2, 2, 2], [4, 3, 8]], np.uint16)
    np.testing.assert_array_equal(downsample(labels, 2, "label"), [[5, 9], [4, 8]])
    mask = np.array([[True, False], [False, False]])
    assert downsample(mask, 2).dtype == np.bool_  # booleans are always strided


def test_channels_are_not_downsampled() -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 1] = 100
    out = downsample(rgb, 2)
    assert out.shape == (2, 3, 3)
    assert set(np.unique(out[..., 1])) == {100}


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        PlaneReducer(np.dtype(np.uint8), 2, "median")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int16, np.uint16, np.float32, np.int64]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=9),
    ),
    st.lists(st.integers(1, 4), min_size=1, max_size=12),
    st.sampled_from(["intensity", "label"]),
)
def test_streaming_equals_whole(array: np.ndarray, cuts: list[int], kind: str) -> None:
    reducer = PlaneReducer(array.dtype, 3, kind)  # type: ignore[arg-type]
    parts, start = [], 0
    for size in cuts:
        parts.append(reducer.push(array[start : start + size]))
        start += size
    parts.append(reducer.push(array[start:]))
    tail = reducer.finish()
    if tail is not None:
        parts.append(tail)
    streamed = np.concatenate(parts, axis=0)
    np.testing.assert_array_equal(streamed, downsample(array, 3, kind))  # type: ignore[arg-type]
    assert streamed.shape == tuple(-(-n // 2) for n in array.shape)
