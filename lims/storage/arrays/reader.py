"""Read a canonical array: planes along any axis and tile regions, reading only their chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import NDArray

from lims.imaging.stats import ValueStats
from lims.storage.arrays import _hdf5
from lims.storage.arrays.digest import array_digest
from lims.storage.arrays.errors import CanonicalArrayError, NotCanonicalError
from lims.storage.arrays.writer import CanonicalInfo

Axis = Literal["z", "y", "x"]
_AXES: dict[str, int] = {"z": 0, "y": 1, "x": 2}
# HDF5 chunk cache per open dataset. Small on purpose: a plane or tile read decompresses each
# chunk once anyway, and filling a large cache made single-plane reads 2-3x slower (measured,
# docs/benchmarks.md). A caller that re-reads neighbouring planes can pass a larger one.
CHUNK_CACHE_BYTES = 1024 * 1024


class CanonicalArray:
    """An open canonical array (a context manager; use ``with CanonicalArray(path) as a:``).

    Coordinates: volumes are (z, y, x), 2D images (y, x) (colour: a trailing channel axis).
    Plane indices are always in level-0 units and map to ``index // 2**level``; region
    bounds are in pixels of the level asked for.
    """

    def __init__(self, path: Path, *, chunk_cache_bytes: int = CHUNK_CACHE_BYTES) -> None:
        try:
            self._file: Any = _hdf5.h5py.File(
                path, "r", rdcc_nbytes=chunk_cache_bytes, rdcc_nslots=10007
            )
        except OSError as exc:
            raise NotCanonicalError(f"{path.name} is not a readable HDF5 file") from exc
        version = self._file.attrs.get("ctvault_canonical_version")
        if version != _hdf5.CANONICAL_VERSION:
            self._file.close()
            raise NotCanonicalError(f"{path.name} is not a canonical array (version {version})")
        self.path = path
        self.is_volume = bool(self._file.attrs["is_volume"])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    @property
    def levels(self) -> int:
        """Number of pyramid levels (level 0 is full resolution)."""
        return int(self._file.attrs["levels"])

    def shape(self, level: int = 0) -> tuple[int, ...]:
        """Shape of one level."""
        return tuple(int(n) for n in self.dataset(level).shape)

    def dataset(self, level: int = 0) -> Any:  # noqa: ANN401 - h5py.Dataset is untyped
        """The h5py dataset of one level, for streaming reads (``dataset[a:b]``)."""
        if not 0 <= level < self.levels:
            raise CanonicalArrayError(f"level {level} does not exist (0 to {self.levels - 1})")
        return self._file[_hdf5.level_name(level)]

    def plane(self, axis: Axis = "z", index: int = 0, level: int = 0) -> NDArray[Any]:
        """One full 2D plane: XY at z=index, XZ at y=index or YZ at x=index.

        Args:
            axis: the axis the plane is normal to; 2D images have only the "z" plane 0.
            index: position along ``axis`` in level-0 units.
            level: pyramid level to read.

        Returns:
            XY planes as (y, x), XZ as (z, x), YZ as (z, y) (plus channels).
        """
        height, width = self._plane_shape(axis, level)
        return self.region(level, 0, height, 0, width, axis=axis, index=index)

    def region(
        self, level: int, y0: int, y1: int, x0: int, x1: int, *, axis: Axis = "z", index: int = 0
    ) -> NDArray[Any]:
        """Rows y0:y1 and columns x0:x1 (pixels of ``level``) of one plane (see :meth:`plane`).

        Raises:
            CanonicalArrayError: unknown level or axis, index or bounds outside the plane.
        """
        height, width = self._plane_shape(axis, level)
        if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
            raise CanonicalArrayError(
                f"region [{y0}:{y1}, {x0}:{x1}] is outside the {height}x{width} plane"
            )
        rows, cols = slice(y0, y1), slice(x0, x1)
        if not self.is_volume:
            if index != 0:
                raise CanonicalArrayError("a 2D image has only plane 0")
            return np.asarray(self.dataset(level)[rows, cols])
        dataset = self.dataset(level)
        position = _AXES[axis]
        level0_extent = self.shape(0)[position]
        if not 0 <= index < level0_extent:
            raise CanonicalArrayError(f"{axis}={index} is outside 0 to {level0_extent - 1}")
        at = min(index >> level, dataset.shape[position] - 1)
        selection = {"z": (at, rows, cols), "y": (rows, at, cols), "x": (rows, cols, at)}[axis]
        return np.asarray(dataset[selection])

    def iter_slabs(self, level: int = 0, depth: int | None = None) -> Iterator[NDArray[Any]]:
        """Consecutive blocks along axis 0 of one level (default: one chunk layer each)."""
        dataset = self.dataset(level)
        step = depth or int(dataset.chunks[0])
        for start in range(0, dataset.shape[0], step):
            yield np.asarray(dataset[start : start + step])

    @property
    def stats(self) -> ValueStats:
        """Min, max and histogram of level 0, as stored."""
        attrs = self._file.attrs
        return ValueStats(
            _scalar(attrs.get("min")),
            _scalar(attrs.get("max")),
            tuple(int(c) for c in attrs["histogram"]),
        )

    @property
    def info(self) -> CanonicalInfo:
        """What the file holds, from its attributes."""
        attrs = self._file.attrs
        stats = self.stats
        voxel = attrs.get("voxel_size")
        return CanonicalInfo(
            digest=str(attrs["array_digest"]),
            shape=self.shape(0),
            dtype=str(attrs["dtype"]),
            levels=self.levels,
            min=stats.minimum,
            max=stats.maximum,
            histogram=stats.histogram,
            voxel_size=None if voxel is None else tuple(float(v) for v in voxel),
            unit=str(attrs["unit"]),
            is_volume=self.is_volume,
            kind="label" if str(attrs["kind"]) == "label" else "intensity",
            format_name=str(attrs["format_name"]),
            level_shapes=tuple(self.shape(k) for k in range(self.levels)),
        )

    @property
    def source_metadata(self) -> dict[str, Any]:
        """The source's metadata as stored (JSON)."""
        return dict(json.loads(self._file.attrs["source_metadata"]))

    def verify(self) -> bool:
        """Recompute the array digest of level 0 (streaming) and compare it with the stored one."""
        return array_digest(self.dataset(0)) == str(self._file.attrs["array_digest"])

    def _plane_shape(self, axis: str, level: int) -> tuple[int, int]:
        shape = self.shape(level)
        if not self.is_volume:
            if axis != "z":
                raise CanonicalArrayError("a 2D image has only the z (XY) plane")
            return shape[0], shape[1]
        if axis not in _AXES:
            raise CanonicalArrayError(f"axis must be z, y or x, not {axis!r}")
        rest = [n for i, n in enumerate(shape[:3]) if i != _AXES[axis]]
        return rest[0], rest[1]


def _scalar(value: Any) -> float | int | None:  # noqa: ANN401
    if value is None:
        return None
    return value.item() if isinstance(value, np.generic) else value  # type: ignore[no-any-return]
