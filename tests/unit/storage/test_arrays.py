"""Canonical arrays: the array digest, the streamed HDF5 pyramid and its reader."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lims.formats.base import FormatError, ImageInfo
from lims.storage.arrays import (
    ArrayDigest,
    CanonicalArray,
    CanonicalArrayError,
    NotCanonicalError,
    array_digest,
    digest_blocks,
    write_canonical,
    writer,
)

REPO = Path(__file__).resolve().parents[3]
DTYPES = ["|u1", "|i1", "<u2", "<i2", ">u2", "<u4", "<i4", "<f4", "<f8", "|b1", "<i8"]


class ArraySource:
    """A SourceImage over an in-memory array; z-slabs for volumes, one slab for 2D."""

    def __init__(self, array: np.ndarray, *, is_volume: bool = True, **meta: Any) -> None:
        self.array = array
        self.slab_calls: list[int] = []
        self.info = ImageInfo(
            shape=array.shape,
            dtype=array.dtype,
            voxel_size=meta.get("voxel_size", (0.5,) * (3 if is_volume else 2)),
            unit="um",
            format_name="test",
            metadata=meta.get("metadata", {"scanner": "unit", "kv": 80}),
            is_volume=is_volume,
        )

    def iter_slabs(self, depth: int) -> Iterator[np.ndarray]:
        self.slab_calls.append(depth)
        if not self.info.is_volume:
            yield self.array
            return
        for z in range(0, self.array.shape[0], depth):
            yield self.array[z : z + depth]

    def close(self) -> None:
        pass


def _definition(array: np.ndarray) -> str:
    header = f"{array.dtype.str}|{','.join(map(str, array.shape))}|".encode()
    return hashlib.sha256(header + np.ascontiguousarray(array).tobytes()).hexdigest()


def _reference_pyramid(array: np.ndarray, spatial: int, kind: str) -> list[np.ndarray]:
    """Whole-array reference: block mean (edge-padded, = mean of existing elements) or stride."""
    levels = [array]
    while max(levels[-1].shape[:spatial]) > 256:
        a = levels[-1]
        if kind == "label" or a.dtype == np.bool_:
            levels.append(a[(slice(None, None, 2),) * spatial])
            continue
        pad = [(0, n % 2) for n in a.shape[:spatial]] + [(0, 0)] * (a.ndim - spatial)
        padded = np.pad(a.astype(np.float64), pad, mode="edge")
        blocks = padded.reshape(
            [m for n in padded.shape[:spatial] for m in (n // 2, 2)] + list(a.shape[spatial:])
        )
        mean = blocks.mean(axis=tuple(range(1, 2 * spatial, 2)))
        levels.append((np.floor(mean + 0.5) if a.dtype.kind in "iu" else mean).astype(a.dtype))
    return levels


# ---------------------------------------------------------------- array digest


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from(DTYPES).map(np.dtype),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7),
    ),
    st.integers(1, 5),
)
def test_streamed_digest_equals_definition(array: np.ndarray, rows: int) -> None:
    expected = _definition(array)
    assert array_digest(array) == expected
    if array.ndim:
        blocks = [array[i : i + rows] for i in range(0, array.shape[0], rows)]
        assert digest_blocks(blocks, dtype=array.dtype, shape=array.shape) == expected


def test_digest_header_layout() -> None:
    array = np.arange(6, dtype="<u2").reshape(2, 3)
    expected = hashlib.sha256(b"<u2|2,3|" + array.tobytes()).hexdigest()
    assert array_digest(array) == expected
    assert array_digest(np.uint8(7).reshape(())) == hashlib.sha256(b"|u1||\x07").hexdigest()


def test_digest_depends_on_dtype_and_shape_not_only_bytes() -> None:
    data = np.arange(12, dtype=np.uint8)
    assert array_digest(data.reshape(3, 4)) != array_digest(data.reshape(4, 3))
    assert array_digest(data.view(np.int8)) != array_digest(data)


def test_digest_refuses_wrong_blocks() -> None:
    digest = ArrayDigest(np.dtype("<u2"), (4, 3))
    with pytest.raises(ValueError, match="does not continue"):
        digest.update(np.zeros((2, 4), "<u2"))
    with pytest.raises(ValueError, match="dtype"):
        digest.update(np.zeros((2, 3), "<i4"))
    digest.update(np.zeros((2, 3), ">u2"))  # same values, other byte order: converted
    with pytest.raises(ValueError, match="2 of 4 rows"):
        digest.hexdigest()
    with pytest.raises(ValueError, match="more than 4 rows"):
        digest.update(np.zeros((3, 3), "<u2"))


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((70, 300, 301), "<u2"), ((129, 257, 513), "|u1"), ((65, 260, 3), "<f4"), ((3, 5, 7), "<i2")],
)
def test_volume_round_trip(tmp_path: Path, shape: tuple[int, ...], dtype: str) -> None:
    rng = np.random.default_rng(1)
    array = (rng.random(shape) * 1000 - (200 if dtype in ("<f4", "<i2") else 0)).astype(dtype)
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    reference = _reference_pyramid(array, 3, "intensity")
    assert info.digest == _definition(array)
    assert info.levels == len(reference)
    with CanonicalArray(tmp_path / "c.h5") as canonical:
        assert canonical.levels == len(reference)
        for level, expected in enumerate(reference):
            stored = canonical.dataset(level)[...]
            assert stored.shape == expected.shape
            np.testing.assert_array_equal(stored, expected)
        assert canonical.info == info
        assert canonical.verify()


def test_level_shapes_halve_with_odd_sides(tmp_path: Path) -> None:
    array = np.zeros((1, 1025, 513), np.uint8)
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    assert info.level_shapes == ((1, 1025, 513), (1, 513, 257), (1, 257, 129), (1, 129, 65))


def test_2d_mosaic_round_trip_by_strips(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    array = rng.integers(0, 256, (1100, 700), dtype=np.uint8)
    source = ArraySource(array, is_volume=False)
    info = write_canonical(source, tmp_path / "m.h5")
    reference = _reference_pyramid(array, 2, "intensity")
    assert [r.shape for r in reference] == list(info.level_shapes)
    with h5py.File(tmp_path / "m.h5", "r") as file:
        for level, expected in enumerate(reference):
            np.testing.assert_array_equal(file[f"levels/{level}"][...], expected)
        assert file["levels/0"].chunks == (256, 256)


@pytest.mark.parametrize("dtype", ["|u1", "<u2"])
def test_2d_mosaic_in_many_blocks_in_flight_equals_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    monkeypatch.setattr(writer, "STRIP_BYTES", 256 * 701 * np.dtype(dtype).itemsize)
    array = np.random.default_rng(3).integers(0, 250, (1537, 701)).astype(dtype)
    info = write_canonical(ArraySource(array, is_volume=False), tmp_path / "m.h5")
    reference = _reference_pyramid(array, 2, "intensity")
    assert info.digest == array_digest(array)
    with h5py.File(tmp_path / "m.h5", "r") as file:
        for level, expected in enumerate(reference):
            np.testing.assert_array_equal(file[f"levels/{level}"][...], expected)


class _FailingSource(ArraySource):
    """Yields two slabs, then the disk fails."""

    def iter_slabs(self, depth: int) -> Iterator[np.ndarray]:
        yield self.array[:depth]
        yield self.array[depth : 2 * depth]
        raise FormatError("disk.raw: cannot read pixel data (Input/output error)")


def test_source_failing_midway_leaves_nothing_and_the_next_write_works(tmp_path: Path) -> None:
    array = np.random.default_rng(4).integers(0, 60000, (200, 64, 64), dtype=np.uint16)
    with pytest.raises(FormatError, match="Input/output error"):
        write_canonical(_FailingSource(array), tmp_path / "c.h5")
    assert list(tmp_path.iterdir()) == []
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    assert info.digest == array_digest(array)
    with CanonicalArray(tmp_path / "c.h5") as canonical:
        assert canonical.verify()


def test_rgb_image_keeps_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    array = rng.integers(0, 256, (600, 300, 3), dtype=np.uint8)
    info = write_canonical(ArraySource(array, is_volume=False), tmp_path / "rgb.h5")
    reference = _reference_pyramid(array, 2, "intensity")
    with CanonicalArray(tmp_path / "rgb.h5") as canonical:
        assert canonical.dataset(0).chunks == (256, 256, 3)
        np.testing.assert_array_equal(canonical.plane(level=1), reference[1])
    assert info.level_shapes[-1] == (150, 75, 3)


def test_chunks_compression_and_attributes(tmp_path: Path) -> None:
    array = np.arange(100 * 300 * 140, dtype=np.uint16).reshape(100, 300, 140) % 4000
    source = ArraySource(array, voxel_size=(1.5, 0.5, 0.5), metadata={"kv": 80, "op": "ü"})
    info = write_canonical(source, tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "r") as file:
        level0 = file["levels/0"]
        assert level0.chunks == (64, 64, 64)
        assert file["levels/1"].chunks == (50, 64, 64)  # clipped to the level's shape
        filters = level0._filters
        assert "32001" in filters  # Blosc
        _, _, _, _, clevel, shuffle, compressor = filters["32001"]
        assert (clevel, shuffle, compressor) == (5, 1, 1)  # level 5, byte shuffle, LZ4
        attrs = file.attrs
        assert attrs["ctvault_canonical_version"] == 1
        assert attrs["array_digest"] == _definition(array)
        assert attrs["dtype"] == "<u2"
        assert tuple(attrs["shape"]) == (100, 300, 140)
        assert tuple(attrs["voxel_size"]) == (1.5, 0.5, 0.5)
        assert attrs["unit"] == "um"
        assert attrs["format_name"] == "test"
        assert json.loads(attrs["source_metadata"]) == {"kv": 80, "op": "ü"}
        assert (attrs["min"], attrs["max"]) == (0, 3999)
        expected, _ = np.histogram(array, bins=256, range=(0, 3999))
        np.testing.assert_array_equal(attrs["histogram"], expected)
    assert info.histogram == tuple(expected)
    assert source.slab_calls == [64]


@pytest.mark.parametrize("dtype", ["|u1", "|i1", "<u2", "<i2", "<i4", "<f4", "<f8"])
def test_stats_equal_numpy(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(4)
    array = (rng.normal(0, 50, (20, 40, 30))).astype(dtype)
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    assert (info.min, info.max) == (array.min(), array.max())
    expected, _ = np.histogram(array, bins=256, range=(array.min(), array.max()))
    assert info.histogram == tuple(expected)


def test_float_stats_skip_nan_and_inf(tmp_path: Path) -> None:
    array = np.linspace(-1, 1, 2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    array[0, 0, 0], array[1, 2, 3] = np.nan, np.inf
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    finite = array[np.isfinite(array)]
    assert (info.min, info.max) == (finite.min(), finite.max())
    assert sum(info.histogram) == finite.size


def test_big_endian_source_is_stored_little_endian(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=">u2").reshape(2, 3, 4)
    info = write_canonical(ArraySource(array), tmp_path / "c.h5")
    assert info.dtype == "<u2"
    assert info.digest == _definition(array.astype("<u2"))


def test_label_levels_keep_label_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    labels = rng.choice(np.array([0, 3, 7, 1000], np.uint16), size=(40, 600, 300))
    info = write_canonical(ArraySource(labels), tmp_path / "l.h5", kind="label")
    assert info.kind == "label"
    with CanonicalArray(tmp_path / "l.h5") as canonical:
        for level in range(1, canonical.levels):
            stored = canonical.dataset(level)[...]
            assert set(np.unique(stored)) <= {0, 3, 7, 1000}
            np.testing.assert_array_equal(stored, labels[:: 2**level, :: 2**level, :: 2**level])


def test_progress_reports_planes(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    write_canonical(
        ArraySource(np.zeros((130, 8, 8), np.uint8)),
        tmp_path / "c.h5",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(64, 130), (128, 130), (130, 130)]


class _ShortSource(ArraySource):
    def iter_slabs(self, depth: int) -> Iterator[np.ndarray]:
        yield self.array[:depth]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (_ShortSource(np.zeros((100, 4, 4), np.uint8)), "ended after 64 of 100"),
        (ArraySource(np.zeros((4, 4, 4), np.complex64)), "cannot be stored"),
        (ArraySource(np.zeros((4, 4), np.uint8)), "not a 3D image"),
    ],
)
def test_bad_source_leaves_nothing(tmp_path: Path, source: ArraySource, message: str) -> None:
    target = tmp_path / "c.h5"
    with pytest.raises(FormatError, match=message):
        write_canonical(source, target)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- reading


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    rng = np.random.default_rng(6)
    array = rng.integers(0, 60000, (90, 300, 270), dtype=np.uint16)
    path = tmp_path_factory.mktemp("canonical") / "v.h5"
    write_canonical(ArraySource(array), path)
    return array, path


@pytest.mark.parametrize("level", [0, 1])
def test_planes_along_each_axis_equal_numpy(volume: tuple[np.ndarray, Path], level: int) -> None:
    array, path = volume
    pyramid = _reference_pyramid(array, 3, "intensity")[level]
    with CanonicalArray(path) as canonical:
        np.testing.assert_array_equal(canonical.plane("z", 45, level), pyramid[45 >> level])
        np.testing.assert_array_equal(canonical.plane("y", 201, level), pyramid[:, 201 >> level])
        np.testing.assert_array_equal(canonical.plane("x", 7, level), pyramid[:, :, 7 >> level])
        np.testing.assert_array_equal(canonical.plane("x", 269, level), pyramid[:, :, -1])


def test_region_reads_a_tile(volume: tuple[np.ndarray, Path]) -> None:
    array, path = volume
    with CanonicalArray(path) as canonical:
        tile = canonical.region(0, 256, 300, 0, 256, axis="z", index=10)
        np.testing.assert_array_equal(tile, array[10, 256:300, 0:256])
        xz = canonical.region(0, 10, 20, 100, 150, axis="y", index=5)
        np.testing.assert_array_equal(xz, array[10:20, 5, 100:150])
        assert canonical.shape(1) == (45, 150, 135)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.plane("z", 90), "outside"),
        (lambda c: c.plane("q", 0), "axis"),
        (lambda c: c.plane("z", 0, 9), "level 9"),
        (lambda c: c.region(0, 0, 301, 0, 10), "outside"),
        (lambda c: c.region(0, 5, 5, 0, 10), "outside"),
    ],
)
def test_bad_plane_requests(volume: tuple[np.ndarray, Path], call: Any, message: str) -> None:
    with CanonicalArray(volume[1]) as canonical, pytest.raises(CanonicalArrayError, match=message):
        call(canonical)


def test_2d_plane_and_region(tmp_path: Path) -> None:
    array = np.arange(600 * 500, dtype=np.uint32).reshape(600, 500)
    write_canonical(ArraySource(array, is_volume=False), tmp_path / "m.h5")
    with CanonicalArray(tmp_path / "m.h5") as canonical:
        np.testing.assert_array_equal(canonical.plane(), array)
        np.testing.assert_array_equal(canonical.region(0, 256, 512, 256, 500), array[256:512, 256:])
        with pytest.raises(CanonicalArrayError, match="only the z"):
            canonical.plane("y", 0)


def test_not_canonical_file(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "other.h5", "w") as file:
        file["x"] = np.zeros(3)
    with pytest.raises(NotCanonicalError):
        CanonicalArray(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("nope")
    with pytest.raises(NotCanonicalError):
        CanonicalArray(tmp_path / "text.h5")


# ---------------------------------------------------------------- memory bound

_MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
import numpy as np
from lims.formats.base import ImageInfo
from lims.storage.arrays import write_canonical

N = 512

class Synthetic:
    info = ImageInfo((N, N, N), np.dtype("<u2"), None, "um", "synthetic", {}, True)
    def iter_slabs(self, depth):
        plane = (np.add.outer(np.arange(N), np.arange(N)) * 17 % 65536).astype(np.uint16)
        for z in range(0, N, depth):
            slab = np.empty((min(depth, N - z), N, N), np.uint16)
            for i in range(len(slab)):
                np.add(plane, np.uint16((z + i) * 17 % 65536), out=slab[i])
            yield slab
    def close(self):
        pass

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

before = peak()
if sys.argv[1] == "read-only":
    for _ in Synthetic().iter_slabs(64):
        pass
else:
    write_canonical(Synthetic(), Path(sys.argv[1]))
print(peak() - before)
"""


def _peak_increase(argument: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MEMORY_SCRIPT), argument],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return int(result.stdout)


@pytest.mark.slow
def test_memory_stays_far_below_the_volume(tmp_path: Path) -> None:
    volume_bytes = 512**3 * 2  # 256 MiB, made slab by slab (64 planes = 32 MiB)
    reading = _peak_increase("read-only")
    writing = _peak_increase(str(tmp_path / "big.h5"))
    # measured: about 65 MiB to read the source (two slabs alive), 111 MiB to write
    assert writing < volume_bytes * 0.5, (reading, writing)
    assert writing - reading < volume_bytes * 0.3, (reading, writing)
    with CanonicalArray(tmp_path / "big.h5") as canonical:
        assert canonical.shape(0) == (512, 512, 512)
        assert canonical.levels == 2
        assert canonical.verify()
