"""segment.label v2: connected-component labelling, labels in the smallest unsigned type.

The components and their numbering are exactly those of v1 (this version runs v1's frozen,
digest-locked code and then narrows the result): labels 1..N in raster order of each
component's first voxel. What changes is the output type: ``uint8`` up to 255 components,
``uint16`` up to 65,535, else ``uint32`` — a 512³ volume with a few thousand particles is
stored, hashed and viewed as 256 MiB instead of v1's 512 MiB of ``int32``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from processing.chunked import ArraySource, iter_slabs, planes_for_budget
from processing.step import Port, PortKind, StepContext, StepResult, StepSpec
from processing.steps.segmentation.label_v1 import BYTES_PER_VOXEL, LabelParams
from processing.steps.segmentation.label_v1 import label as label_v1

# The narrowed copy is written next to v1's int32 labels.
NARROW_BYTES_PER_VOXEL = BYTES_PER_VOXEL + 4


def smallest_label_dtype(count: int) -> np.dtype[np.unsignedinteger]:
    """The narrowest unsigned integer type that holds labels 0..count."""
    for candidate in (np.uint8, np.uint16, np.uint32):
        if count <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    raise ValueError(f"{count} labels do not fit 32 bits")


def label(ctx: StepContext, params: LabelParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Label the connected components of ``mask`` as v1 does, in the smallest unsigned type.

    Raises:
        StepInputError: connectivity above the image's dimension, or more than 2**31-1 parts.
    """
    result = label_v1(ctx, params, inputs)
    wide = result.arrays["labels"]
    count = int(result.scalars["count"])
    narrow = ctx.allocate(wide.shape, smallest_label_dtype(count))
    planes = planes_for_budget(
        wide.shape,
        bytes_per_voxel=NARROW_BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.label",
    )
    for start, block in iter_slabs(wide, planes):
        narrow[start : start + len(block)] = block
    return StepResult(arrays={"labels": narrow}, scalars={"count": count})


LABEL_V2: StepSpec[LabelParams] = StepSpec(
    name="segment.label",
    version=2,
    params=LabelParams,
    inputs=(Port("mask", PortKind.LABEL, dtype_kinds="bui", description="Non-zero = object"),),
    outputs=(
        Port("labels", PortKind.LABEL, dtype_kinds="u", unit="label", description="0 = none"),
    ),
    func=label,
    description="Connected-component labelling as v1, labels in the smallest unsigned type.",
)
