"""transform.bin v1: integer binning (block mean) by the same factor on every axis.

Trailing planes, rows and columns that do not fill a whole bin are dropped. The voxel size
of the output is the input's times the factor. Each output voxel is the float64 sum of its
bin, added in a fixed order, divided by the bin size: the result does not depend on slabs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from processing.chunked import ArraySource, planes_for_budget
from processing.step import (
    Params,
    Port,
    StepContext,
    StepInputError,
    StepResult,
    StepSpec,
    param,
)

BYTES_PER_VOXEL = 24  # input block, float64 accumulator per output voxel (amortised)


@dataclass(frozen=True, slots=True, kw_only=True)
class BinParams(Params):
    """Parameters of transform.bin v1."""

    factor: int = param(2, unit="voxel", minimum=1, maximum=16, description="Bin side")


def bin_block(block: NDArray[Any], factor: int) -> NDArray[np.float32]:
    """Mean of each ``factor``-sided bin of a block whose extents are multiples of factor."""
    shape = tuple(n // factor for n in block.shape)
    total = np.zeros(shape, np.float64)
    for offsets in itertools.product(range(factor), repeat=block.ndim):
        total += block[
            tuple(slice(o, o + n * factor, factor) for o, n in zip(offsets, shape, strict=True))
        ]
    return np.asarray(total / factor**block.ndim, np.float32)


def binning(ctx: StepContext, params: BinParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Bin ``image`` slab by slab (slabs are whole bins thick).

    Raises:
        StepInputError: the image is smaller than one bin on some axis.
    """
    image, f = inputs["image"], params.factor
    out_shape = tuple(n // f for n in image.shape)
    if min(out_shape) < 1:
        raise StepInputError(f"transform.bin: image {image.shape} is smaller than one bin of {f}")
    planes = planes_for_budget(
        image.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="transform.bin",
    )
    out_planes = max(1, planes // f)
    out = ctx.allocate(out_shape, np.dtype(np.float32))
    crop = tuple(slice(0, n * f) for n in out_shape[1:])
    for start in range(0, out_shape[0], out_planes):
        stop = min(start + out_planes, out_shape[0])
        block = np.asarray(image[(slice(start * f, stop * f), *crop)])
        out[start:stop] = bin_block(block, f)
        ctx.progress(stop / out_shape[0], f"planes {stop}/{out_shape[0]}")
    voxel = tuple(v * f for v in ctx.spacing(len(image.shape)))
    return StepResult(arrays={"image": out}, voxel_size_um=voxel)


BIN_V1: StepSpec[BinParams] = StepSpec(
    name="transform.bin",
    version=1,
    params=BinParams,
    inputs=(Port("image", dtype_kinds="buif", description="Image to bin"),),
    outputs=(Port("image", dtype_kinds="f", description="Binned image (float32 mean)"),),
    func=binning,
    description="Integer binning by block mean; partial bins at the far edges are dropped.",
)
