"""Chunk-level writes of canonical datasets: the HDF5 Blosc filter's bytes, read back by HDF5."""

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
def test_write_rows_refuses_what_is_not_whole_chunk_layers(tmp_path: Path, start, rows) -> None:
    with h5py.File(tmp_path / "h.h5", "w") as file:
        dataset = file.create_dataset("a", data=DATA, chunks=(32, 32, 32), **BLOSC)
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
