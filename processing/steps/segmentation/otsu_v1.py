# mypy: disallow-untyped-calls=False
"""segment.otsu v1: global Otsu threshold into a 0/1 mask (uint8).

The histogram (``bins`` equal bins over the finite [min, max]) is accumulated slab by slab,
so the threshold does not depend on the slab size; ``threshold_otsu`` then works on it.
The threshold is the upper edge of the bin Otsu picks (scikit-image reports its centre),
so the mask is exactly Otsu's split of the histogram into two classes.
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

BYTES_PER_VOXEL = 24  # block, float64 copy, comparison result


@dataclass(frozen=True, slots=True, kw_only=True)
class OtsuParams(Params):
    """Parameters of segment.otsu v1."""

    bins: int = param(256, unit="", minimum=2, maximum=65536, description="Histogram bins")
    foreground: str = param(
        "above",
        choices=("above", "below"),
        description="Mask value 1 for voxels above the threshold, or at or below it",
    )


def otsu(ctx: StepContext, params: OtsuParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Threshold ``image`` at its Otsu threshold; the threshold is a scalar result."""
    image = inputs["image"]
    planes = planes_for_budget(
        image.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.otsu",
    )
    counts, centers = histogram(image, bins=params.bins, planes=planes)
    threshold = bin_upper_edge(centers, float(filters.threshold_otsu(hist=(counts, centers))))
    out = ctx.allocate(image.shape, np.dtype(np.uint8))
    for start, block in iter_slabs(image, planes):
        mask = block > threshold if params.foreground == "above" else block <= threshold
        out[start : start + len(block)] = mask.astype(np.uint8)
    return StepResult(
        arrays={"mask": out},
        scalars={"threshold": threshold},
        scalar_units={"threshold": "intensity"},
    )


OTSU_V1: StepSpec[OtsuParams] = StepSpec(
    name="segment.otsu",
    version=1,
    params=OtsuParams,
    inputs=(Port("image", dtype_kinds="buif", description="Image to threshold"),),
    outputs=(Port("mask", PortKind.LABEL, dtype_kinds="u", unit="label", description="0/1"),),
    func=otsu,
    description="Global Otsu threshold (scikit-image threshold_otsu on a slab-wise histogram).",
)
