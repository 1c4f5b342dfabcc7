# mypy: disallow-untyped-calls=False
"""filter.nlmeans v1: non-local-means denoising (scikit-image, fast mode), float32 output.

Fast mode sums patch distances through integral images, whose rounding depends on where a
voxel sits in the block. The result is therefore not bit-identical to denoising the whole
image at once; it is exactly reproducible for the same ``slab_planes``, which is a
parameter (recorded and replayed) rather than derived from the machine's memory budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skimage import restoration

from processing.chunked import ArraySource, MemoryBudgetError, map_slabs, plane_voxels
from processing.step import Params, Port, StepContext, StepResult, StepSpec, param

BYTES_PER_VOXEL = 48  # float64 block, padded copy, integral image, weights, result, output


@dataclass(frozen=True, slots=True, kw_only=True)
class NlMeansParams(Params):
    """Parameters of filter.nlmeans v1."""

    h: float = param(
        description="Filter strength: intensity distance at which patches stop counting "
        "as similar (about 0.8 x noise standard deviation)",
        unit="intensity",
        minimum=1e-12,
        maximum=1e12,
    )
    patch_size: int = param(5, unit="voxel", minimum=3, maximum=11, description="Patch side")
    patch_distance: int = param(
        6, unit="voxel", minimum=1, maximum=15, description="Search radius for similar patches"
    )
    slab_planes: int = param(
        32, unit="plane", minimum=4, maximum=4096, description="Planes processed per slab"
    )


def nlmeans(
    ctx: StepContext, params: NlMeansParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Denoise ``image`` in slabs of ``slab_planes`` planes with a patch-reach halo.

    Raises:
        MemoryBudgetError: one slab with its halo does not fit the memory budget.
    """
    image = inputs["image"]
    depth = params.patch_distance + params.patch_size // 2 + 1
    planes = min(params.slab_planes, image.shape[0])
    need = (planes + 2 * depth) * plane_voxels(image.shape) * BYTES_PER_VOXEL
    if need > ctx.memory_budget_bytes:
        raise MemoryBudgetError(
            f"filter.nlmeans: a slab of {planes} planes plus halo needs {need} bytes, more than "
            f"the memory budget of {ctx.memory_budget_bytes} bytes; lower slab_planes"
        )
    out = ctx.allocate(image.shape, np.dtype(np.float32))

    def apply(block: NDArray[Any]) -> NDArray[np.float32]:
        result = restoration.denoise_nl_means(
            block.astype(np.float64),
            patch_size=params.patch_size,
            patch_distance=params.patch_distance,
            h=params.h,
            fast_mode=True,
            preserve_range=True,
        )
        return np.asarray(result, dtype=np.float32)

    map_slabs(apply, image, out, depth=depth, planes=planes, progress=ctx.progress)
    return StepResult(arrays={"image": out})


NLMEANS_V1: StepSpec[NlMeansParams] = StepSpec(
    name="filter.nlmeans",
    version=1,
    params=NlMeansParams,
    inputs=(Port("image", dtype_kinds="uif", description="Noisy image"),),
    outputs=(Port("image", dtype_kinds="f", description="Denoised image (float32)"),),
    func=nlmeans,
    description="Non-local-means denoising (scikit-image restoration.denoise_nl_means, fast).",
)
