"""TIFF reader: slice stacks, multi-page volumes, BigTIFF mosaics, and refused input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from lims.formats.base import BandedImage, FormatError
from lims.formats.registry import open_image
from lims.formats.tiff import TiffReader

from .helpers import read_all

RNG = np.random.default_rng(7)


def _stack(folder: Path, vol: np.ndarray, *, skip: int | None = None) -> list[Path]:
    paths = []
    for i, plane in enumerate(vol):
        if i == skip:
            continue
        path = folder / f"rec_{i:04d}.tif"
        tifffile.imwrite(
            path, plane, resolution=(1e4 / 2.5, 1e4 / 2.5), resolutionunit="CENTIMETER"
        )
        paths.append(path)
    return paths


def test_slice_stack_round_trip_in_natural_order(tmp_path: Path) -> None:
    vol = RNG.integers(0, 65535, (12, 9, 7), dtype=np.uint16)
    paths = [tmp_path / f"s{i}.tif" for i in range(12)]  # s10 sorts before s2 by plain name
    for path, plane in zip(paths, vol, strict=True):
        tifffile.imwrite(path, plane)
    source = TiffReader().open(sorted(paths))
    assert source.info.shape == (12, 9, 7)
    assert source.info.is_volume
    assert np.array_equal(read_all(source, depth=5), vol)


def test_stack_pixel_size_from_resolution_tags(tmp_path: Path) -> None:
    vol = RNG.random((3, 4, 5), dtype=np.float32)
    source = open_image(_stack(tmp_path, vol))
    assert source.info.voxel_size is None  # z is not stated anywhere
    assert source.info.metadata["pixel_size_um"] == pytest.approx([2.5, 2.5])
    assert np.array_equal(read_all(source), vol)


def test_imagej_volume_with_voxel_size(tmp_path: Path) -> None:
    vol = RNG.integers(0, 255, (6, 10, 8), dtype=np.uint8)
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path, vol, imagej=True, resolution=(1 / 0.5, 1 / 0.25),
        metadata={"spacing": 0.75, "unit": "um", "axes": "ZYX"},
    )  # fmt: skip
    source = open_image([path])
    assert source.info.voxel_size == pytest.approx((0.75, 0.25, 0.5))
    assert source.info.format_name == "tiff"
    assert np.array_equal(read_all(source, depth=4), vol)


def test_multipage_bigtiff_volume(tmp_path: Path) -> None:
    vol = RNG.integers(-3000, 3000, (5, 6, 7), dtype=np.int16)
    path = tmp_path / "vol.tif"
    tifffile.imwrite(path, vol, bigtiff=True, compression="zlib")
    source = open_image([path])
    assert source.info.metadata["bigtiff"] is True
    assert np.array_equal(read_all(source, depth=2), vol)


@pytest.mark.parametrize(
    "options",
    [
        {"tile": (64, 48), "compression": "zlib", "bigtiff": True},
        {"rowsperstrip": 17, "compression": "lzw"},
        {},
    ],
)
def test_mosaic_bands_equal_image(tmp_path: Path, options: dict[str, object]) -> None:
    image = RNG.integers(0, 65535, (300, 250), dtype=np.uint16)
    path = tmp_path / "mosaic.tif"
    tifffile.imwrite(path, image, **options)
    source = open_image([path])
    assert isinstance(source, BandedImage)
    assert not source.info.is_volume
    assert np.array_equal(np.concatenate(list(source.iter_bands(33))), image)
    assert np.array_equal(read_all(source), image)


def test_rgb_mosaic_and_planar_separate(tmp_path: Path) -> None:
    rgb = RNG.integers(0, 255, (130, 90, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "a.tif", rgb, photometric="rgb", tile=(32, 32))
    tifffile.imwrite(
        tmp_path / "b.tif", rgb.transpose(2, 0, 1), photometric="rgb", planarconfig="separate"
    )
    tifffile.imwrite(
        tmp_path / "c.tif",
        rgb.transpose(2, 0, 1),
        photometric="rgb",
        planarconfig="separate",
        tile=(32, 32),
        compression="zlib",
    )
    for name in ("a.tif", "b.tif", "c.tif"):
        source = open_image([tmp_path / name])
        assert source.info.shape == (130, 90, 3)
        assert np.array_equal(read_all(source), rgb)
        banded = open_image([tmp_path / name])
        assert np.array_equal(np.concatenate(list(banded.iter_bands(45))), rgb)  # type: ignore[attr-defined]
        banded.close()


def test_mosaic_bands_decode_only_their_tiles(tmp_path: Path) -> None:
    image = RNG.integers(0, 255, (256, 128), dtype=np.uint8)
    path = tmp_path / "m.tif"
    tifffile.imwrite(path, image, tile=(64, 64), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        last = tif.pages.first.dataoffsets[-1]
    data = bytearray(path.read_bytes())
    data[last : last + 8] = b"\xff" * 8  # break the bottom-right tile only
    path.write_bytes(bytes(data))
    source = open_image([path])
    bands = source.iter_bands(64)  # type: ignore[attr-defined]
    assert np.array_equal(next(bands), image[:64])
    with pytest.raises(FormatError, match=r"m\.tif"):
        list(bands)
    source.close()


@pytest.mark.req("A11-04")
def test_missing_slice_is_named(tmp_path: Path) -> None:
    paths = _stack(tmp_path, np.zeros((50, 4, 4), np.uint8), skip=42)
    with pytest.raises(FormatError, match="slice 0042 is missing"):
        open_image(paths)


@pytest.mark.req("A11-04")
def test_mixed_shapes_name_the_first_bad_slice(tmp_path: Path) -> None:
    paths = _stack(tmp_path, np.zeros((4, 4, 4), np.uint8))
    tifffile.imwrite(paths[2], np.zeros((5, 4), np.uint8))
    tifffile.imwrite(paths[3], np.zeros((6, 4), np.uint8))
    with pytest.raises(FormatError, match=r"rec_0002\.tif: shape \(5, 4\)"):
        open_image(paths)


@pytest.mark.req("A11-04")
def test_mixed_dtypes_refused(tmp_path: Path) -> None:
    paths = _stack(tmp_path, np.zeros((3, 4, 4), np.uint8))
    tifffile.imwrite(paths[1], np.zeros((4, 4), np.uint16))
    with pytest.raises(FormatError, match=r"rec_0001\.tif: .*uint16"):
        open_image(paths)


@pytest.mark.req("A11-04")
def test_duplicate_and_unnumbered_slices_refused(tmp_path: Path) -> None:
    for name in ("x_1.tif", "x_01.tif", "other.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((2, 2), np.uint8))
    with pytest.raises(FormatError, match="appears twice"):
        open_image([tmp_path / "x_1.tif", tmp_path / "x_01.tif"])
    with pytest.raises(FormatError, match="numbered sequence"):
        open_image([tmp_path / "x_1.tif", tmp_path / "other.tif"])


@pytest.mark.req("A11-04")
def test_multipage_file_in_a_stack_refused(tmp_path: Path) -> None:
    paths = _stack(tmp_path, np.zeros((3, 4, 4), np.uint8))
    tifffile.imwrite(paths[1], np.zeros((2, 4, 4), np.uint8), photometric="minisblack")
    with pytest.raises(FormatError, match=r"rec_0001\.tif: has 2 pages"):
        open_image(paths)


@pytest.mark.req("A11-04")
def test_text_file_renamed_tif(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("hello, this is not an image\n")
    with pytest.raises(FormatError, match=r"not a recognised image format: notes\.tif.*tiff"):
        open_image([path])
    with pytest.raises(FormatError, match=r"notes\.tif: not a TIFF file \(wrong magic"):
        TiffReader().open([path])


@pytest.mark.req("A11-04")
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_tiff_refused(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(
        path,
        RNG.integers(0, 255, (4, 64, 64), dtype=np.uint8),
        compression="zlib",
        photometric="minisblack",
    )
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FormatError, match=r"cut\.tif"):
        read_all(open_image([path]))


@pytest.mark.req("A11-04")
def test_unsupported_layout_refused(tmp_path: Path) -> None:
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, np.zeros((2, 3, 4, 5), np.uint8), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(FormatError, match=r"hyper\.tif: unsupported"):
        open_image([path])


def test_ome_tiff_physical_sizes(tmp_path: Path) -> None:
    vol = RNG.integers(0, 255, (4, 5, 6), dtype=np.uint8)
    path = tmp_path / "o.ome.tif"
    meta = {"axes": "ZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.6, "PhysicalSizeZ": 2.0}
    tifffile.imwrite(path, vol, ome=True, metadata=meta | {"PhysicalSizeZUnit": "nm"})
    source = open_image([path])
    assert source.info.voxel_size == pytest.approx((0.002, 0.6, 0.5))
    assert np.array_equal(read_all(source), vol)


UNCOMPRESSED_LAYOUTS = {
    "tiles-with-edge-tiles": ((300, 250), np.uint8, {"tile": (64, 48)}),
    "big-endian-tiles": ((130, 70), np.dtype(">u2"), {"tile": (32, 32), "byteorder": ">"}),
    "tile-wider-than-image": ((40, 30), np.uint16, {"tile": (64, 64)}),
    "one-column-of-tiles": ((100, 64), np.float32, {"tile": (32, 64)}),
    "strips": ((301, 77), np.uint16, {"rowsperstrip": 17}),
    "rgb-tiles": ((90, 70, 3), np.uint8, {"tile": (32, 32), "photometric": "rgb"}),
}


@pytest.mark.parametrize("layout", UNCOMPRESSED_LAYOUTS.values(), ids=UNCOMPRESSED_LAYOUTS.keys())
def test_uncompressed_mosaic_rows_read_straight_from_the_file(
    tmp_path: Path, layout: tuple[tuple[int, ...], np.dtype, dict[str, object]]
) -> None:
    shape, dtype, options = layout
    image = (RNG.random(shape) * 60000).astype(dtype)
    path = tmp_path / "raw.tif"
    tifffile.imwrite(path, image, **options)
    source = open_image([path])
    assert source.info.shape == shape
    assert source.info.dtype == np.dtype(dtype).newbyteorder("=")
    for rows in (1, 33, 64, 1000):
        assert np.array_equal(np.concatenate(list(source.iter_bands(rows))), image)
    source.close()


def test_uncompressed_tiles_stored_out_of_order_are_placed_by_their_offsets(
    tmp_path: Path,
) -> None:
    image = RNG.integers(0, 255, (64, 96), dtype=np.uint8)
    path = tmp_path / "shuffled.tif"
    tifffile.imwrite(path, image, tile=(32, 32))
    with tifffile.TiffFile(path, mode="r+b") as tif:
        page = tif.pages.first
        offsets, size = list(page.dataoffsets), page.databytecounts[0]
        order = [2, 0, 5, 1, 4, 3]  # tile k moves to where tile order[k] was
        data = path.read_bytes()
        tiles = [data[o : o + size] for o in offsets]
        page.tags["TileOffsets"].overwrite([offsets[target] for target in order])
    with path.open("r+b") as file:
        for k, target in enumerate(order):
            file.seek(offsets[target])
            file.write(tiles[k])
    source = open_image([path])
    assert np.array_equal(np.concatenate(list(source.iter_bands(20))), image)
    source.close()


@pytest.mark.req("A11-04")
def test_uncompressed_mosaic_cut_after_it_was_opened_is_refused(tmp_path: Path) -> None:
    image = RNG.integers(0, 255, (256, 256), dtype=np.uint8)
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, image, tile=(64, 64))
    source = open_image([path])
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    bands = source.iter_bands(64)  # type: ignore[attr-defined]
    with pytest.raises(FormatError, match=r"cut\.tif: the file ends inside its pixel data"):
        list(bands)
    source.close()
