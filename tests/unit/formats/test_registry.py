"""Registry dispatch, file grouping, metadata hygiene, and the iter_slabs property."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import h5py
import mrcfile
import nrrd
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lims.formats._common import plain
from lims.formats.base import FormatError, SourceImage
from lims.formats.registry import READERS, group_files, open_image

from .helpers import dicom_series, write_mhd

VOL = np.random.default_rng(1).integers(0, 60000, (13, 6, 5), dtype=np.uint16)


def _tiff_pages(d: Path) -> list[Path]:
    tifffile.imwrite(d / "v.tif", VOL, photometric="minisblack")
    return [d / "v.tif"]


def _tiff_stack(d: Path) -> list[Path]:
    for i, plane in enumerate(VOL):
        tifffile.imwrite(d / f"s_{i:03d}.tif", plane)
    return sorted(d.glob("s_*.tif"))


def _nrrd_gzip(d: Path) -> list[Path]:
    nrrd.write(str(d / "v.nrrd"), VOL, {"encoding": "gzip"}, index_order="C")
    return [d / "v.nrrd"]


def _mhd(d: Path) -> list[Path]:
    return [write_mhd(d, VOL), d / "vol.raw"]


def _hdf5(d: Path) -> list[Path]:
    with h5py.File(d / "v.h5", "w") as f:
        f.create_dataset("exchange/data", data=VOL, chunks=(4, 6, 5))
    return [d / "v.h5"]


def _mrc(d: Path) -> list[Path]:
    with mrcfile.new(d / "v.mrc") as mrc:
        mrc.set_data(VOL)
    return [d / "v.mrc"]


def _dicom(d: Path) -> list[Path]:
    return dicom_series(d, VOL)


BUILDERS: dict[str, Callable[[Path], list[Path]]] = {
    "tiff": _tiff_pages, "tiff-stack": _tiff_stack, "nrrd": _nrrd_gzip, "metaimage": _mhd,
    "hdf5": _hdf5, "mrc": _mrc, "dicom": _dicom,
}  # fmt: skip


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    out = {}
    for name, build in BUILDERS.items():
        folder = tmp_path_factory.mktemp(name)
        out[name] = build(folder)
    return out


@pytest.mark.parametrize("name", list(BUILDERS))
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(depth=st.integers(min_value=1, max_value=20))
def test_iter_slabs_concatenation_equals_volume(
    sources: dict[str, list[Path]], name: str, depth: int
) -> None:
    source = open_image(sources[name])
    try:
        slabs = list(source.iter_slabs(depth))
        assert all(len(s) <= depth for s in slabs)
        assert all(s.flags.c_contiguous and s.dtype == source.info.dtype for s in slabs)
        assert np.array_equal(np.concatenate(slabs), VOL)
    finally:
        source.close()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.integers(min_value=1, max_value=200), tile=st.sampled_from([16, 32, 64]))
def test_iter_bands_of_tiled_mosaic(tmp_path: Path, rows: int, tile: int) -> None:
    image = np.arange(150 * 70, dtype=np.uint16).reshape(150, 70)
    path = tmp_path / f"m{tile}.tif"
    if not path.exists():
        tifffile.imwrite(path, image, tile=(tile, tile), compression="zlib")
    source = open_image([path])
    try:
        assert np.array_equal(np.concatenate(list(source.iter_bands(rows))), image)  # type: ignore[attr-defined]
    finally:
        source.close()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_metadata_is_plain_json(sources: dict[str, list[Path]], name: str) -> None:
    source = open_image(sources[name])
    source.close()
    text = json.dumps(source.info.metadata, allow_nan=False)
    assert json.loads(text) == source.info.metadata


def test_plain_values() -> None:
    value = {
        1: np.float32(1.5), "b": b"text\0", "x": b"\xff\xfe", "arr": np.arange(3),
        "big": np.zeros(1000), "nan": float("nan"), "t": (np.int64(2), True),
    }  # fmt: skip
    assert plain(value) == {"1": 1.5, "b": "text", "arr": [0, 1, 2], "nan": "nan", "t": [2, True]}


def test_depth_must_be_positive(sources: dict[str, list[Path]]) -> None:
    source: SourceImage = open_image(sources["hdf5"])
    with pytest.raises(ValueError, match="depth"):
        next(source.iter_slabs(0))
    source.close()


def test_readers_have_unique_names() -> None:
    names = [r.name for r in READERS]
    assert len(names) == len(set(names))


def test_folder_is_expanded(sources: dict[str, list[Path]]) -> None:
    folder = sources["tiff-stack"][0].parent
    source = open_image([folder])
    assert source.info.shape == VOL.shape
    source.close()


def test_group_files_mixed_upload(tmp_path: Path) -> None:
    stack = _tiff_stack(tmp_path)
    pair = _mhd(tmp_path)
    single = tmp_path / "volume_7.tif"
    tifffile.imwrite(single, VOL, photometric="minisblack")
    Image.fromarray(VOL[0].astype(np.uint8)).save(tmp_path / "overview.png")
    (tmp_path / "notes.txt").write_text("scan notes")  # not an image: left out
    groups = group_files([tmp_path])
    assert stack in groups
    assert pair in groups
    assert [single] in groups
    assert [tmp_path / "overview.png"] in groups
    assert len(groups) == 4


@pytest.mark.req("A11-04")
def test_unknown_format_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(
        FormatError, match=r"not a recognised image format: data\.bin \(supported: tiff, dicom"
    ):
        open_image([path])


@pytest.mark.req("A11-04")
def test_missing_file_and_empty_list(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"gone\.tif: not a readable file"):
        open_image([tmp_path / "gone.tif"])
    with pytest.raises(FormatError, match="no files given"):
        open_image([])


@pytest.mark.req("A11-04")
def test_readers_never_write(sources: dict[str, list[Path]]) -> None:
    files = [p for paths in sources.values() for p in paths]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    for paths in sources.values():
        source = open_image(paths)
        list(source.iter_slabs(4))
        source.close()
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before
