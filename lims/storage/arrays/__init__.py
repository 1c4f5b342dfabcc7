"""Canonical arrays: the HDF5 pyramid every image is stored as, and the array digest.

Layout of a canonical file (version 1): ``/levels/0`` holds the full-resolution image,
``/levels/k`` the image downsampled by ``2**k`` (block mean, or stride for label images),
until the largest side is at most 256. Volumes are chunked about 64³ and 2D images 256²,
compressed with Blosc LZ4 and byte shuffle (hdf5plugin). The root attributes carry the
array digest of level 0, dtype, shape, voxel size and unit, the source's format and
metadata (JSON), min, max and a 256-bin histogram.
"""

from __future__ import annotations

from lims.storage.arrays.digest import ArrayDigest, array_digest, digest_blocks, digest_header
from lims.storage.arrays.errors import CanonicalArrayError, NotCanonicalError
from lims.storage.arrays.reader import CanonicalArray
from lims.storage.arrays.writer import CanonicalInfo, write_canonical

__all__ = [
    "ArrayDigest",
    "CanonicalArray",
    "CanonicalArrayError",
    "CanonicalInfo",
    "NotCanonicalError",
    "array_digest",
    "digest_blocks",
    "digest_header",
    "write_canonical",
]
