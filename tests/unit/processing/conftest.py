"""Synthetic volumes with known answers for the processing-step tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def ball_mask(
    shape: tuple[int, int, int], centres: list[tuple[float, float, float]], radius: float
) -> NDArray[np.uint8]:
    """0/1 volume holding balls of ``radius`` voxels at ``centres``."""
    z, y, x = np.indices(shape)
    mask = np.zeros(shape, bool)
    for cz, cy, cx in centres:
        mask |= (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= radius**2
    return mask.astype(np.uint8)


def noisy_volume(shape: tuple[int, ...], seed: int = 0) -> NDArray[np.float32]:
    """Gaussian noise around 100 (float32), reproducible."""
    return np.random.default_rng(seed).normal(100.0, 20.0, shape).astype(np.float32)
