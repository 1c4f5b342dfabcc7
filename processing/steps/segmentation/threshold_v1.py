"""segment.threshold v1: manual threshold into a 0/1 mask (uint8)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from processing.chunked import ArraySource, iter_slabs, planes_for_budget
from processing.step import (
    Params,
    Port,
    PortKind,
    StepContext,
    StepResult,
    StepSpec,
    param,
)

BYTES_PER_VOXEL = 16  # block and comparison result


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdParams(Params):
    """Parameters of segment.threshold v1."""

    threshold: float = param(
        unit="intensity", minimum=-1e308, maximum=1e308, description="Threshold value"
    )
    foreground: str = param(
        "above",
        choices=("above", "below"),
        description="Mask value 1 for voxels above the threshold, or at or below it",
    )


def threshold(
    ctx: StepContext, params: ThresholdParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Mask ``image`` at the given threshold."""
    image = inputs["image"]
    planes = planes_for_budget(
        image.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.threshold",
    )
    out = ctx.allocate(image.shape, np.dtype(np.uint8))
    for start, block in iter_slabs(image, planes):
        above = params.foreground == "above"
        mask = block > params.threshold if above else block <= params.threshold
        out[start : start + len(block)] = mask.astype(np.uint8)
    return StepResult(arrays={"mask": out})


THRESHOLD_V1: StepSpec[ThresholdParams] = StepSpec(
    name="segment.threshold",
    version=1,
    params=ThresholdParams,
    inputs=(Port("image", dtype_kinds="buif", description="Image to threshold"),),
    outputs=(Port("mask", PortKind.LABEL, dtype_kinds="u", unit="label", description="0/1"),),
    func=threshold,
    description="Manual threshold: 1 above (or at/below) the given value.",
)
