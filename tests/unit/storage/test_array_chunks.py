"""Chunk-level reads and writes of canonical datasets equal HDF5's own (Blosc filter bytes)."""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

from lims.storage.arrays import CanonicalArray, _chunks, write_canonical
from tests.unit.storage.test_arrays import ArraySource

BLOSC = hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)
DATA = np.random.default_rng(7).integers(0, 60000, size=(70, 90, 100), dtype=np.uint16)


@pytest.fixture
def dataset(tmp_path: Path):
    with h5py.File(tmp_path / "a.h5", "w") as file:
        created = file.create_dataset("a", data=DATA, chunks=(32, 32, 32), **BLOSC)
        yield created


@pytest.mark.parametrize(
    "box",
    [
        ((0, 70), (0, 90), (0, 100)),  # everything, edge chunks included
        ((5, 6), (0, 90), (0, 100)),  # an XY plane
        ((0, 70), (33, 34), (0, 100)),  # an XZ plane
        ((0, 70), (0, 90), (99, 100)),  # a YZ plane at the last column
        ((31, 33), (31, 65), (63, 65)),  # across chunk borders
    ],
    ids=["all", "xy", "xz", "yz", "borders"],
)
def test_read_box_equals_hdf5_slicing(dataset, box) -> None:
    assert _chunks.is_direct(dataset)
    expected = dataset[tuple(slice(a, b) for a, b in box)]
    got = _chunks.read_box(dataset, box)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_chunks_never_written_read_as_the_fill_value(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "b.h5", "w") as file:
        sparse = file.create_dataset(
            "a", shape=(64, 64), dtype=np.uint8, chunks=(32, 32), fillvalue=7, **BLOSC
        )
        sparse[:32, :32] = 1
        got = _chunks.read_box(sparse, ((0, 64), (0, 64)))
    assert (got[:32, :32] == 1).all()
    assert (got[32:, :] == 7).all()
    assert (got[:, 32:] == 7).all()


def test_other_filters_are_not_read_directly(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "c.h5", "w") as file:
        gzip = file.create_dataset("g", data=DATA[:4], chunks=(4, 32, 32), compression="gzip")
        plain = file.create_dataset("p", data=DATA[:4])
        assert not _chunks.is_direct(gzip)
        assert not _chunks.is_direct(plain)


def test_encoded_chunks_written_directly_read_back_through_the_hdf5_filter(
    tmp_path: Path,
) -> None:
    block = DATA[:32, :32, :32]
    with h5py.File(tmp_path / "d.h5", "w") as file:
        target = file.create_dataset(
            "a", shape=(32, 32, 64), dtype=np.uint16, chunks=(32, 32, 32), **BLOSC
        )
        target.id.write_direct_chunk((0, 0, 32), _chunks.encode(block))
    with h5py.File(tmp_path / "d.h5", "r") as file:
        np.testing.assert_array_equal(file["a"][:, :, 32:], block)
        assert (file["a"][:, :, :32] == 0).all()


def test_write_rows_round_trips_whole_layers_and_a_short_last_one(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "e.h5", "w") as file:
        target = file.create_dataset(
            "a", shape=DATA.shape, dtype=DATA.dtype, chunks=(32, 32, 32), **BLOSC
        )
        _chunks.write_rows(target, 0, DATA[:64])
        _chunks.write_rows(target, 64, DATA[64:])  # 6 rows: a short last layer
    with h5py.File(tmp_path / "e.h5", "r") as file:
        np.testing.assert_array_equal(file["a"][...], DATA)


@pytest.mark.parametrize(("start", "rows"), [(5, DATA[:32]), (0, DATA[:32, :10])])
def test_write_rows_refuses_what_is_not_whole_chunk_layers(dataset, start, rows) -> None:
    with pytest.raises(ValueError, match="not whole chunk layers"):
        _chunks.write_rows(dataset, start, rows)
    np.testing.assert_array_equal(dataset[...], DATA)


@pytest.mark.parametrize(
    "shape", [(300, 520), (300, 520, 3), (1, 7)], ids=["gray", "rgb", "one-row"]
)
def test_8_bit_statistics_counted_by_pillow_equal_numpy(tmp_path: Path, shape) -> None:
    array = np.random.default_rng(9).integers(3, 251, size=shape, dtype=np.uint8)
    info = write_canonical(ArraySource(array, is_volume=False), tmp_path / "m.h5")
    assert (info.min, info.max) == (array.min(), array.max())
    expected, _ = np.histogram(array, bins=256, range=(array.min(), array.max()))
    assert info.histogram == tuple(expected)
    with CanonicalArray(tmp_path / "m.h5") as canonical:
        np.testing.assert_array_equal(canonical.plane("z", 0, 0), array)


@pytest.mark.parametrize("dtype", ["|u1", "<u2", "<f4"])
def test_encoded_chunks_are_the_bytes_the_hdf5_filter_writes(tmp_path: Path, dtype: str) -> None:
    noise = np.random.default_rng(2).integers(0, 3, (32, 32, 32))
    chunk = (np.indices((32, 32, 32)).sum(axis=0) + noise).astype(dtype)
    with h5py.File(tmp_path / "f.h5", "w") as file:
        written = file.create_dataset("a", data=chunk, chunks=chunk.shape, **BLOSC)
        mask, stored = written.id.read_direct_chunk((0, 0, 0))
    assert mask == 0, "the filter compressed the chunk"
    assert _chunks.encode(chunk) == stored
    assert _chunks.encode(chunk)[3] == chunk.dtype.itemsize  # Blosc header: typesize


def test_a_file_written_again_at_the_same_path_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    for value in (1, 2):
        with h5py.File(path, "w") as file:
            file.create_dataset(
                "a", data=np.full((40, 40), value, np.uint8), chunks=(32, 32), **BLOSC
            )
        with h5py.File(path, "r") as file:
            assert (_chunks.read_box(file["a"], ((0, 40), (0, 40))) == value).all()
