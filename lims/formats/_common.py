"""Helpers shared by the readers: slab streaming, raw volumes, plain metadata, safe paths."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lims.formats.base import FormatError, ImageInfo

#: Errors a library may raise on corrupt input; readers turn them into FormatError.
READ_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    IndexError,
    TypeError,
    RuntimeError,
    NotImplementedError,
    SyntaxError,
    ArithmeticError,
)
_MAX_LIST = 64  # longest array copied into metadata
_MAX_TEXT = 8192  # longest string copied into metadata
_UNIT_UM = {
    "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3,
    "millimeter": 1e3, "cm": 1e4, "m": 1e6, "meter": 1e6, "inch": 25400.0,
    "angstrom": 1e-4, "å": 1e-4,
}  # fmt: skip
_NUMBER = re.compile(r"(\d+)")

ReadFn = Callable[[int, int], NDArray[Any]]


def plain(value: Any) -> Any:  # noqa: ANN401 - metadata values are anything
    """Return ``value`` as JSON-serialisable plain data (None when it cannot be kept).

    Args:
        value: a header value: numbers, strings, bytes, numpy scalars/arrays, containers.

    Returns:
        str/int/float/bool/list/dict/None; bytes become text when they decode, else None.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        keep = value.size <= _MAX_LIST and value.dtype.kind in "biuf"
        return plain(value.tolist()) if keep else None
    if isinstance(value, dict):
        out = {str(k): plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value] if len(value) <= _MAX_LIST else None
    return _scalar(value)


def _scalar(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "...[truncated]"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8").rstrip("\x00")
        except UnicodeDecodeError:
            return None
        return text if text.isprintable() else None
    return str(value)


def unit_factor(unit: str) -> float | None:
    """Micrometres per ``unit`` ("mm" -> 1000.0), or None for an unknown unit."""
    return _UNIT_UM.get(unit.strip().strip('"').lower())


def natural_key(path: Path) -> tuple[Any, ...]:
    """Sort key that orders ``slice_2`` before ``slice_10``."""
    parts = _NUMBER.split(path.name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts)


def number_pattern(path: Path) -> tuple[str, str, str] | None:
    """Split a name at its last number: (prefix, digits, suffix), or None without digits."""
    matches = list(_NUMBER.finditer(path.name))
    if not matches:
        return None
    m = matches[-1]
    return path.name[: m.start()], m.group(1), path.name[m.end() :].lower()


def read_head(path: Path, size: int, offset: int = 0) -> bytes:
    """First bytes of a file (empty on any read error, for sniffing)."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    except OSError:
        return b""


def check_dtype(dtype: np.dtype[Any], label: str) -> np.dtype[Any]:
    """Return the native-order dtype, or refuse what the canonical store cannot hold."""
    if dtype.kind not in "uif" or dtype.itemsize > 8:  # noqa: PLR2004 - 64 bit
        raise FormatError(f"{label}: unsupported dtype {dtype} (integers and floats only)")
    return dtype.newbyteorder("=")


def make_info(
    label: str,
    *,
    shape: Sequence[int],
    dtype: np.dtype[Any],
    voxel_size: Sequence[float] | None,
    format_name: str,
    metadata: dict[str, Any],
    colour: bool = False,
) -> ImageInfo:
    """Build a checked ImageInfo: 2D (y, x), colour (y, x, 3|4) or volume (z, y, x).

    Raises:
        FormatError: an empty axis, an unsupported number of axes, or an unsupported dtype.
    """
    shape = tuple(int(n) for n in shape)
    if any(n < 1 for n in shape):
        raise FormatError(f"{label}: empty image (shape {shape})")
    if colour and (len(shape) != 3 or shape[2] not in {3, 4}):  # noqa: PLR2004
        raise FormatError(f"{label}: colour images need 3 or 4 samples (shape {shape})")
    if len(shape) not in {2, 3}:
        raise FormatError(f"{label}: unsupported image with {len(shape)} axes (shape {shape})")
    is_volume = len(shape) == 3 and not colour  # noqa: PLR2004
    spatial = 3 if is_volume else 2
    size = tuple(float(v) for v in voxel_size) if voxel_size is not None else None
    if size is not None and (
        len(size) != spatial or not all(math.isfinite(v) and v > 0 for v in size)
    ):
        metadata = {**metadata, "voxel_size_ignored": list(size)}
        size = None
    return ImageInfo(
        shape=shape,
        dtype=check_dtype(np.dtype(dtype), label),
        voxel_size=size,
        unit="um",
        format_name=format_name,
        metadata=plain(metadata),
        is_volume=is_volume,
    )


def data_path(header: Path, name: str, files: Sequence[Path]) -> Path:
    """Resolve a data file named in a header, next to it, without leaving its folder.

    Args:
        header: the header file.
        name: the data file name the header gives.
        files: the files passed to ``open``; with more than one, the data file must be among them.

    Raises:
        FormatError: an absolute path or ``..``, a missing file, or one not among ``files``.
    """
    rel = Path(name.strip())
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise FormatError(f"{header.name}: data file {name!r} must be a name next to the header")
    path = header.parent / rel
    if len(files) > 1 and all(f.resolve() != path.resolve() for f in files):
        raise FormatError(f"{header.name}: data file {name} is not among the files given")
    if not path.is_file():
        raise FormatError(f"{header.name}: data file {name} is missing")
    return path


class PlaneSource:
    """A SourceImage over a function reading index ranges of the first axis.

    For volumes the first axis is z (``iter_slabs``); for 2D images it is y (``iter_bands``).
    Every yielded array is a native-order array of its own, checked against ``info``: a copy
    of what ``read`` returns, unless ``read`` is ``fresh`` (returns a new array every call)
    and that array is already native and C-ordered.
    """

    def __init__(
        self,
        info: ImageInfo,
        read: ReadFn,
        label: str,
        close: Callable[[], None] | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        self.info = info
        self._read = read
        self._label = label
        self._close = close
        self._fresh = fresh

    def _get(self, start: int, stop: int) -> NDArray[Any]:
        try:
            arr = np.asarray(self._read(start, stop))
        except FormatError:
            raise
        except READ_ERRORS as exc:
            raise FormatError(f"{self._label}: cannot read pixel data ({exc})") from exc
        want = (stop - start, *self.info.shape[1:])
        if arr.shape != want:
            raise FormatError(f"{self._label}: read {arr.shape} where {want} was expected")
        if arr.dtype.newbyteorder("=") != self.info.dtype:
            raise FormatError(
                f"{self._label}: read {arr.dtype} where {self.info.dtype} was expected"
            )
        if self._fresh and arr.dtype == self.info.dtype and arr.flags.c_contiguous:
            return arr
        return np.array(arr, dtype=self.info.dtype, order="C")

    def iter_slabs(self, depth: int) -> Iterator[NDArray[Any]]:
        """Yield z-slabs of at most ``depth`` planes (2D images: the whole image once)."""
        if depth < 1:
            raise ValueError("depth must be at least 1")
        if not self.info.is_volume:
            yield self._get(0, self.info.shape[0])
            return
        for z in range(0, self.info.shape[0], depth):
            yield self._get(z, min(z + depth, self.info.shape[0]))

    def iter_bands(self, rows: int) -> Iterator[NDArray[Any]]:
        """Yield row bands of at most ``rows`` rows of a 2D image."""
        if rows < 1 or self.info.is_volume:
            raise ValueError("iter_bands needs a 2D image and rows >= 1")
        for y in range(0, self.info.shape[0], rows):
            yield self._get(y, min(y + rows, self.info.shape[0]))

    def close(self) -> None:
        """Release file handles (idempotent)."""
        if self._close is not None:
            close, self._close = self._close, None
            close()
