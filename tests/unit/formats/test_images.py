"""PNG/JPEG/BMP reader: modes, our own pixel limit, truncated and corrupt files refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lims.formats.base import FormatError
from lims.formats.images import ImagesReader
from lims.formats.registry import open_image

from .helpers import read_all

RNG = np.random.default_rng(9)


@pytest.mark.parametrize(
    ("array", "suffix"),
    [
        (RNG.integers(0, 255, (20, 30), dtype=np.uint8), ".png"),
        (RNG.integers(0, 65535, (20, 30), dtype=np.uint16), ".png"),
        (RNG.integers(0, 255, (20, 30, 3), dtype=np.uint8), ".png"),
        (RNG.integers(0, 255, (20, 30, 4), dtype=np.uint8), ".png"),
        (RNG.integers(0, 255, (20, 30, 3), dtype=np.uint8), ".bmp"),
        (RNG.integers(0, 255, (20, 30), dtype=np.uint8), ".bmp"),
    ],
)
def test_lossless_round_trip(tmp_path: Path, array: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"img{suffix}"
    Image.fromarray(array).save(path)
    source = open_image([path])
    assert source.info.shape == array.shape
    assert source.info.dtype == array.dtype
    assert not source.info.is_volume
    assert source.info.voxel_size is None
    assert np.array_equal(np.concatenate(list(source.iter_bands(7))), array)  # type: ignore[attr-defined]
    assert np.array_equal(read_all(source), array)


def test_jpeg_equals_pillow_decode(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.fromarray(RNG.integers(0, 255, (16, 24, 3), dtype=np.uint8)).save(path, dpi=(300, 300))
    source = open_image([path])
    assert source.info.metadata["format"] == "jpeg"
    assert source.info.metadata["info"]["dpi"] == pytest.approx([300, 300])
    with Image.open(path) as im:
        assert np.array_equal(read_all(source), np.asarray(im))


def test_palette_png_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.fromarray(RNG.integers(0, 255, (8, 8, 3), dtype=np.uint8)).convert("P").save(path)
    source = open_image([path])
    assert source.info.shape == (8, 8, 3)
    assert source.info.metadata["converted_to"] == "RGB"
    with Image.open(path) as im:
        assert np.array_equal(read_all(source), np.asarray(im.convert("RGB")))


def test_bigger_than_pillow_limit_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wide.png"
    Image.fromarray(np.zeros((60, 60), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Image.open would raise a bomb error
    assert read_all(ImagesReader().open([path])).shape == (60, 60)


@pytest.mark.req("A11-04")
def test_more_pixels_than_our_limit_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((60, 60), np.uint8)).save(path)
    with pytest.raises(FormatError, match=r"big\.png: 60 x 60 pixels is more than the limit 3000"):
        ImagesReader(max_pixels=3000).open([path])


@pytest.mark.req("A11-04")
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_truncated_image_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cut{suffix}"
    Image.fromarray(RNG.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(FormatError, match=rf"cut\{suffix}"):
        read_all(open_image([path]))


@pytest.mark.req("A11-04")
def test_corrupt_png_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    Image.fromarray(RNG.integers(0, 255, (32, 32), dtype=np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    data[40:60] = b"\0" * 20  # inside IHDR/IDAT: CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"bad\.png"):
        read_all(open_image([path]))


@pytest.mark.req("A11-04")
def test_unsupported_mode_refused(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8)).save(path)
    with pytest.raises(FormatError, match=r"cmyk\.jpg: unsupported JPEG mode CMYK"):
        open_image([path])
