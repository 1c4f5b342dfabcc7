"""The array digest: SHA-256 over dtype, shape and C-order bytes, computed in bounded pieces."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Size of the pieces array_digest() copies to C order at a time.
BLOCK_BYTES = 64 * 1024 * 1024


def digest_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """The bytes hashed before the data: ``f"{dtype.str}|{','.join(shape)}|"`` in ASCII.

    Example: a little-endian uint16 array of shape (2, 3, 4) starts with ``b"<u2|2,3,4|"``;
    uint8 (no byte order) with ``b"|u1|2,3,4|"``; a 0-d array with ``b"<f8||"``.
    """
    return f"{np.dtype(dtype).str}|{','.join(str(int(n)) for n in shape)}|".encode("ascii")


class ArrayDigest:
    """Incremental array digest: feed consecutive blocks along axis 0, in order.

    The digest is ``sha256(digest_header(dtype, shape) + array.tobytes(order="C"))`` as a
    64-character lowercase hex string. Blocks must have the declared trailing shape and hold
    the same values type (a different byte order is converted; other dtypes are refused, as
    they would change the bytes).
    """

    def __init__(self, dtype: np.dtype[Any], shape: tuple[int, ...]) -> None:
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(n) for n in shape)
        self._hash = hashlib.sha256(digest_header(self.dtype, self.shape))
        self._rows = 0

    def update(self, block: ArrayLike) -> None:
        """Hash the next block of rows (a block of shape ``(k, *shape[1:])``).

        Raises:
            ValueError: wrong trailing shape, wrong dtype, or more rows than declared.
        """
        array = np.asarray(block)
        if not self.shape:
            array = array.reshape((1,))
        elif array.shape[1:] != self.shape[1:]:
            raise ValueError(f"block shape {array.shape} does not continue {self.shape}")
        if array.dtype != self.dtype:
            if array.dtype.newbyteorder("=") != self.dtype.newbyteorder("="):
                raise ValueError(f"block dtype {array.dtype} is not {self.dtype}")
            array = array.astype(self.dtype)
        rows = self.shape[0] if self.shape else 1
        if self._rows + len(array) > rows:
            raise ValueError(f"more than {rows} rows fed to the digest")
        self._hash.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
        self._rows += len(array)

    def hexdigest(self) -> str:
        """The digest; every row must have been fed.

        Raises:
            ValueError: fewer rows than the declared shape.
        """
        rows = self.shape[0] if self.shape else 1
        if self._rows != rows:
            raise ValueError(f"digest fed {self._rows} of {rows} rows")
        return self._hash.hexdigest()


def array_digest(array: ArrayLike) -> str:
    """Array digest of a whole array (ndarray, memmap, h5py dataset or anything sliceable).

    The array is read in blocks of rows of at most 64 MiB, so a memmap or HDF5 dataset is
    never loaded whole.
    """
    shaped: Any = (
        array if hasattr(array, "shape") and hasattr(array, "dtype") else np.asarray(array)
    )
    shape = tuple(int(n) for n in shaped.shape)
    digest = ArrayDigest(np.dtype(shaped.dtype), shape)
    if not shape:
        digest.update(np.asarray(shaped))
        return digest.hexdigest()
    row_bytes = max(1, math.prod(shape[1:]) * np.dtype(shaped.dtype).itemsize)
    step = max(1, BLOCK_BYTES // row_bytes)
    for start in range(0, shape[0], step):
        digest.update(np.asarray(shaped[start : start + step]))
    return digest.hexdigest()


def digest_blocks(
    blocks: Iterable[NDArray[Any]], *, dtype: np.dtype[Any], shape: tuple[int, ...]
) -> str:
    """Array digest of an image given as consecutive blocks along axis 0 (e.g. z-slabs)."""
    digest = ArrayDigest(dtype, shape)
    for block in blocks:
        digest.update(block)
    return digest.hexdigest()
