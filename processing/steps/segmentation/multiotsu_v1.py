# mypy: disallow-untyped-calls=False
"""segment.multiotsu v1: multi-Otsu thresholds into a phase image 0..classes-1 (uint8).

Like segment.otsu, the histogram is accumulated slab by slab and each threshold is the
upper edge of the bin multi-Otsu picks. Phase ``k`` holds the voxels
with ``thresholds[k-1] < value <= thresholds[k]`` (``np.digitize`` with ``right=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from skimage import filters

from processing.chunked import ArraySource, bin_upper_edge, histogram, iter_slabs, planes_for_budget
from processing.step import (
    Params,
    Port,
    PortKind,
    StepContext,
    StepResult,
    StepSpec,
    param,
)

BYTES_PER_VOXEL = 24  # block, float64 copy, phase indices


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiOtsuParams(Params):
    """Parameters of segment.multiotsu v1."""

    classes: int = param(3, unit="", minimum=2, maximum=5, description="Number of phases")
    bins: int = param(256, unit="", minimum=8, maximum=4096, description="Histogram bins")


def multiotsu(
    ctx: StepContext, params: MultiOtsuParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Split ``image`` into ``classes`` phases; thresholds are scalar results."""
    image = inputs["image"]
    planes = planes_for_budget(
        image.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.multiotsu",
    )
    counts, centers = histogram(image, bins=params.bins, planes=planes)
    found = filters.threshold_multiotsu(classes=params.classes, hist=(counts, centers))
    thresholds = np.array([bin_upper_edge(centers, float(t)) for t in found], np.float64)
    out = ctx.allocate(image.shape, np.dtype(np.uint8))
    for start, block in iter_slabs(image, planes):
        phases = np.digitize(block.astype(np.float64), thresholds, right=True)
        out[start : start + len(block)] = phases.astype(np.uint8)
    names = [f"threshold_{i + 1}" for i in range(len(thresholds))]
    return StepResult(
        arrays={"phases": out},
        scalars={n: float(t) for n, t in zip(names, thresholds, strict=True)},
        scalar_units=dict.fromkeys(names, "intensity"),
    )


MULTIOTSU_V1: StepSpec[MultiOtsuParams] = StepSpec(
    name="segment.multiotsu",
    version=1,
    params=MultiOtsuParams,
    inputs=(Port("image", dtype_kinds="buif", description="Image to split into phases"),),
    outputs=(
        Port("phases", PortKind.LABEL, dtype_kinds="u", unit="label", description="0..classes-1"),
    ),
    func=multiotsu,
    description="Multi-Otsu thresholds (scikit-image threshold_multiotsu, slab-wise histogram).",
)
