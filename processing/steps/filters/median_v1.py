# mypy: disallow-untyped-calls=False
"""filter.median v1: median filter over a ball (3D) or disk (2D) footprint of a given radius."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skimage import filters, morphology

from processing.chunked import ArraySource, map_slabs, planes_for_budget
from processing.step import Params, Port, StepContext, StepResult, StepSpec, param

BYTES_PER_VOXEL = 24  # input block, output block, scipy's selection buffers


@dataclass(frozen=True, slots=True, kw_only=True)
class MedianParams(Params):
    """Parameters of filter.median v1."""

    radius: int = param(
        1, unit="voxel", minimum=1, maximum=20, description="Radius of the ball/disk footprint"
    )


def median(ctx: StepContext, params: MedianParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Median-filter ``image`` slab by slab (halo = radius); same dtype as the input."""
    image = inputs["image"]
    shape = image.shape
    footprint = (morphology.ball if len(shape) == 3 else morphology.disk)(params.radius)  # noqa: PLR2004
    planes = planes_for_budget(
        shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=params.radius,
        budget_bytes=ctx.memory_budget_bytes,
        what="filter.median",
    )
    out = ctx.allocate(shape, np.dtype(image.dtype))

    def apply(block: NDArray[Any]) -> NDArray[Any]:
        return np.asarray(filters.median(block, footprint, mode="nearest"))

    map_slabs(apply, image, out, depth=params.radius, planes=planes, progress=ctx.progress)
    return StepResult(arrays={"image": out})


MEDIAN_V1: StepSpec[MedianParams] = StepSpec(
    name="filter.median",
    version=1,
    params=MedianParams,
    inputs=(Port("image", dtype_kinds="uif", description="Image to filter"),),
    outputs=(Port("image", dtype_kinds="uif", description="Median-filtered image"),),
    func=median,
    description="Median filter (scikit-image filters.median, ball/disk footprint, mode nearest).",
)
