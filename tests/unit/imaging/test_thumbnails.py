"""Thumbnails are PNGs of the right size; orthoslices and MIPs read what they should."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lims.imaging.thumbnails import mip, orthoslice_pngs, thumbnail_png, to_display


def _png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.verify()
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("shape", "size"), [((600, 300), (128, 256)), ((100, 50), (50, 100)), ((300, 900), (256, 85))]
)
def test_thumbnail_size_keeps_aspect_never_upscales(
    shape: tuple[int, int], size: tuple[int, int]
) -> None:
    array = np.random.default_rng(0).integers(0, 4000, shape, dtype=np.uint16)
    image = _png(thumbnail_png(array, max_side=256))
    assert image.size == size
    assert image.mode == "L"


def test_thumbnail_colour_and_window() -> None:
    rgb = np.zeros((40, 80, 3), np.uint8)
    assert _png(thumbnail_png(rgb, 20)).mode == "RGB"
    grey = np.full((10, 10), 500, np.int16)
    pixels = np.asarray(_png(thumbnail_png(grey, 10, window=(0, 1000))))
    assert set(np.unique(pixels)) == {128}


def test_to_display() -> None:
    assert to_display(np.array([[True, False]])).tolist() == [[255, 0]]
    data = np.arange(4, dtype=np.uint8).reshape(2, 2)
    assert to_display(data) is data


def test_orthoslices_are_the_mid_planes() -> None:
    volume = np.zeros((10, 20, 30), np.uint8)
    volume[5] = 200  # XY mid-plane bright; it crosses the XZ and YZ mid-planes as a line
    pngs = orthoslice_pngs(volume, max_side=64)
    assert set(pngs) == {"xy", "xz", "yz"}
    assert _png(pngs["xy"]).size == (30, 20)
    assert _png(pngs["xz"]).size == (30, 10)
    assert _png(pngs["yz"]).size == (20, 10)
    assert np.asarray(_png(pngs["xy"])).min() == 200
    assert np.asarray(_png(pngs["xz"]))[5].min() == 200
    assert np.asarray(_png(pngs["yz"]))[4].max() == 0
    assert _png(orthoslice_pngs(volume, 15)["xy"]).size == (15, 10)


@pytest.mark.parametrize(("axis", "reduce"), [("z", 0), ("y", 1), ("x", 2)])
def test_mip_equals_numpy_max(axis: str, reduce: int) -> None:
    volume = np.random.default_rng(1).normal(size=(37, 11, 13)).astype(np.float32)
    slabs = (volume[z : z + 8] for z in range(0, 37, 8))
    np.testing.assert_array_equal(mip(slabs, axis), volume.max(axis=reduce))  # type: ignore[arg-type]


def test_mip_errors() -> None:
    with pytest.raises(ValueError, match="no slabs"):
        mip([])
    with pytest.raises(ValueError, match="axis"):
        mip([np.zeros((1, 1, 1))], "w")  # type: ignore[arg-type]
