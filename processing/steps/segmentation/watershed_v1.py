# mypy: disallow-untyped-calls=False
"""segment.watershed v1: split touching particles of a mask by a distance-map watershed.

Markers are the local maxima of the Euclidean distance map (in µm, using the voxel size) at
least ``min_distance`` voxels apart, within each connected component; the watershed of the
negated distance map from those markers, restricted to the mask, gives the labels. The
distance map and the watershed are global, so the whole mask must fit the memory budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi  # type: ignore[import-untyped]
from skimage import feature, segmentation

from processing.chunked import ArraySource, require_in_memory
from processing.step import (
    Params,
    Port,
    PortKind,
    StepContext,
    StepResult,
    StepSpec,
    param,
)

BYTES_PER_VOXEL = 64  # mask, distance (float64), components, markers, labels, watershed queue


@dataclass(frozen=True, slots=True, kw_only=True)
class WatershedParams(Params):
    """Parameters of segment.watershed v1."""

    min_distance: int = param(
        5, unit="voxel", minimum=1, maximum=200, description="Minimum distance between markers"
    )


def watershed(
    ctx: StepContext, params: WatershedParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Separate touching particles of ``mask`` into labels 1..N (int32).

    Raises:
        MemoryBudgetError: the whole mask does not fit the memory budget.
    """
    source = inputs["mask"]
    require_in_memory(
        source.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.watershed",
    )
    mask = np.asarray(source[...]) != 0
    distance = ndi.distance_transform_edt(mask, sampling=ctx.spacing(mask.ndim))
    ctx.progress(0.3, "distance map")
    components, _ = ndi.label(mask)
    peaks = feature.peak_local_max(
        distance, min_distance=params.min_distance, labels=components, exclude_border=False
    )
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    ctx.progress(0.5, f"{len(peaks)} markers")
    labels = np.asarray(segmentation.watershed(-distance, markers, mask=mask), np.int32)
    out = ctx.allocate(mask.shape, np.dtype(np.int32))
    out[...] = labels
    ctx.progress(1.0, "watershed")
    return StepResult(arrays={"labels": out}, scalars={"count": len(peaks)})


WATERSHED_V1: StepSpec[WatershedParams] = StepSpec(
    name="segment.watershed",
    version=1,
    params=WatershedParams,
    inputs=(Port("mask", PortKind.LABEL, dtype_kinds="bui", description="Non-zero = particle"),),
    outputs=(
        Port("labels", PortKind.LABEL, dtype_kinds="i", unit="label", description="0 = none"),
    ),
    func=watershed,
    description="Distance-map watershed separating touching particles (scikit-image).",
)
