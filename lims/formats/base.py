"""What every format reader produces: an image to stream, with its physical metadata."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from lims.errors import UserError


class FormatError(UserError):
    """A file that is corrupt, inconsistent or not the format it claims (nothing stored)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ImageInfo:
    """Shape and physical meaning of an image, known before any pixel is read.

    ``shape`` is (z, y, x) for volumes and (y, x) for 2D images (a single grey channel;
    colour images are (y, x, c) with c = 3 or 4). ``voxel_size`` has one entry per spatial
    axis in ``unit`` (usually "um"), or is None when the source does not say.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    voxel_size: tuple[float, ...] | None
    unit: str
    format_name: str
    metadata: dict[str, Any]
    is_volume: bool


class SourceImage(Protocol):
    """An opened source: its info, and its pixels in bounded pieces."""

    info: ImageInfo

    def iter_slabs(self, depth: int) -> Iterator[NDArray[Any]]:
        """Yield consecutive z-slabs of at most ``depth`` planes (2D images: one slab).

        A yielded array is not changed afterwards (consumers keep it while reading on).
        """
        ...

    def close(self) -> None:
        """Release file handles."""
        ...


@runtime_checkable
class BandedImage(Protocol):
    """A source that can also stream a 2D image as row bands (huge mosaics stay bounded)."""

    info: ImageInfo

    def iter_bands(self, rows: int) -> Iterator[NDArray[Any]]:
        """Yield consecutive row bands of at most ``rows`` rows of a 2D image.

        A yielded array is not changed afterwards (consumers keep it while reading on).

        Raises:
            ValueError: the image is a volume (use ``iter_slabs``) or ``rows`` < 1.
        """
        ...


class Reader(Protocol):
    """One format: recognise a set of files and open them as one image."""

    name: str

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when these files are this format (by signature, not only extension)."""
        ...

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open the files as one image.

        Raises:
            FormatError: corrupt or inconsistent input, with a message naming the problem.
        """
        ...
