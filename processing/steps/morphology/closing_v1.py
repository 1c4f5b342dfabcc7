# mypy: disallow-untyped-calls=False
"""morphology.closing v1: grey-level closing (dilation, then erosion) with a ball or disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skimage import morphology

from processing.chunked import ArraySource, map_slabs, planes_for_budget
from processing.step import Params, Port, StepContext, StepResult, StepSpec, param

BYTES_PER_VOXEL = 24  # input block, intermediate, output


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosingParams(Params):
    """Parameters of morphology.closing v1."""

    radius: int = param(
        1, unit="voxel", minimum=1, maximum=20, description="Radius of the ball/disk footprint"
    )


def closing(
    ctx: StepContext, params: ClosingParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Closing of ``image`` slab by slab; the halo is twice the radius (two passes).

    Masks (bool) are processed as uint8 0/1; other dtypes are kept.
    """
    image = inputs["image"]
    shape = image.shape
    footprint = (morphology.ball if len(shape) == 3 else morphology.disk)(params.radius)  # noqa: PLR2004
    depth = 2 * params.radius
    planes = planes_for_budget(
        shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=depth,
        budget_bytes=ctx.memory_budget_bytes,
        what="morphology.closing",
    )
    dtype = np.dtype(np.uint8) if image.dtype == np.bool_ else np.dtype(image.dtype)
    out = ctx.allocate(shape, dtype)

    def apply(block: NDArray[Any]) -> NDArray[Any]:
        return np.asarray(morphology.closing(block.astype(dtype), footprint, mode="reflect"))

    map_slabs(apply, image, out, depth=depth, planes=planes, progress=ctx.progress)
    return StepResult(arrays={"image": out})


CLOSING_V1: StepSpec[ClosingParams] = StepSpec(
    name="morphology.closing",
    version=1,
    params=ClosingParams,
    inputs=(Port("image", description="Image or mask"),),
    outputs=(Port("image", dtype_kinds="uif", description="Closing result (bool becomes uint8)"),),
    func=closing,
    description="Grey-level closing (scikit-image morphology.closing, ball/disk footprint).",
)
