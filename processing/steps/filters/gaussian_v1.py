# mypy: disallow-untyped-calls=False
"""filter.gaussian v1: Gaussian smoothing with an isotropic sigma in voxels, float32 output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skimage import filters

from processing.chunked import ArraySource, map_slabs, planes_for_budget
from processing.step import Params, Port, StepContext, StepResult, StepSpec, param

TRUNCATE = 4.0  # kernel reach in sigmas (scipy's default), fixed for v1
BYTES_PER_VOXEL = 40  # input copy, float64 work copy, result and temporaries, float32 output


@dataclass(frozen=True, slots=True, kw_only=True)
class GaussianParams(Params):
    """Parameters of filter.gaussian v1."""

    sigma: float = param(
        1.0, unit="voxel", minimum=0.1, maximum=50.0, description="Kernel standard deviation"
    )


def gaussian(
    ctx: StepContext, params: GaussianParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Smooth ``image`` slab by slab; bit-identical to smoothing the whole image at once."""
    image = inputs["image"]
    depth = int(TRUNCATE * params.sigma + 0.5)
    planes = planes_for_budget(
        image.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=depth,
        budget_bytes=ctx.memory_budget_bytes,
        what="filter.gaussian",
    )
    out = ctx.allocate(image.shape, np.dtype(np.float32))

    def smooth(block: NDArray[Any]) -> NDArray[np.float32]:
        result = filters.gaussian(
            block.astype(np.float64),
            sigma=params.sigma,
            mode="nearest",
            truncate=TRUNCATE,
            preserve_range=True,
        )
        return np.asarray(result, dtype=np.float32)

    map_slabs(smooth, image, out, depth=depth, planes=planes, progress=ctx.progress)
    return StepResult(arrays={"image": out})


GAUSSIAN_V1: StepSpec[GaussianParams] = StepSpec(
    name="filter.gaussian",
    version=1,
    params=GaussianParams,
    inputs=(Port("image", description="Image to smooth"),),
    outputs=(Port("image", dtype_kinds="f", description="Smoothed image (float32)"),),
    func=gaussian,
    description="Gaussian smoothing (scikit-image filters.gaussian, mode nearest, truncate 4).",
)
