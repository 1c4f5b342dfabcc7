"""transform.resample v1: resample by a zoom factor with linear interpolation, float32 output.

The output has ``round(n * zoom)`` voxels on each axis (at least 1). Voxel centres are
aligned (half-voxel convention): output index ``i`` samples input coordinate
``(i + 0.5) * n_in / n_out - 0.5``, clamped to the image. Interpolation is separable
(axis 0, then 1, then 2), in float64; the voxel size grows by ``n_in / n_out`` per axis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from processing.chunked import ArraySource, planes_for_budget
from processing.step import Params, Port, StepContext, StepResult, StepSpec, param

BYTES_PER_VOXEL = 40  # input block and float64 intermediates per axis


@dataclass(frozen=True, slots=True, kw_only=True)
class ResampleParams(Params):
    """Parameters of transform.resample v1."""

    zoom: float = param(
        0.5, unit="", minimum=0.05, maximum=8.0, description="Output voxels per input voxel"
    )


def _weights(n_in: int, n_out: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[Any]]:
    coords = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    low = np.floor(coords).astype(np.intp)
    return low, np.minimum(low + 1, n_in - 1), coords - low


def _along(block: NDArray[Any], axis: int, n_out: int) -> NDArray[np.float64]:
    """Interpolate ``block`` (whole along ``axis``) to ``n_out`` samples along ``axis``."""
    low, high, w = _weights(block.shape[axis], n_out)
    shape = [1] * block.ndim
    shape[axis] = -1
    a = np.take(block, low, axis=axis).astype(np.float64)
    b = np.take(block, high, axis=axis).astype(np.float64)
    return np.asarray(a * (1.0 - w.reshape(shape)) + b * w.reshape(shape), np.float64)


def resample(
    ctx: StepContext, params: ResampleParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Resample ``image`` slab by slab (output planes; each reads the input planes it needs)."""
    image = inputs["image"]
    shape = tuple(image.shape)
    out_shape = tuple(max(1, round(n * params.zoom)) for n in shape)
    planes = planes_for_budget(
        shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=1,
        budget_bytes=ctx.memory_budget_bytes,
        what="transform.resample",
    )
    out_planes = max(1, int(planes * params.zoom))
    out = ctx.allocate(out_shape, np.dtype(np.float32))
    low, high, w = _weights(shape[0], out_shape[0])
    for start in range(0, out_shape[0], out_planes):
        stop = min(start + out_planes, out_shape[0])
        first, last = int(low[start]), int(high[stop - 1]) + 1
        block = np.asarray(image[first:last])
        a = block[low[start:stop] - first].astype(np.float64)
        b = block[high[start:stop] - first].astype(np.float64)
        wz = w[start:stop].reshape((-1,) + (1,) * (len(shape) - 1))
        result = a * (1.0 - wz) + b * wz
        for axis in range(1, len(shape)):
            result = _along(result, axis, out_shape[axis])
        out[start:stop] = result.astype(np.float32)
        ctx.progress(stop / out_shape[0], f"planes {stop}/{out_shape[0]}")
    voxel = tuple(
        v * n / m for v, n, m in zip(ctx.spacing(len(shape)), shape, out_shape, strict=True)
    )
    return StepResult(arrays={"image": out}, voxel_size_um=voxel)


RESAMPLE_V1: StepSpec[ResampleParams] = StepSpec(
    name="transform.resample",
    version=1,
    params=ResampleParams,
    inputs=(Port("image", dtype_kinds="buif", description="Image to resample"),),
    outputs=(Port("image", dtype_kinds="f", description="Resampled image (float32)"),),
    func=resample,
    description="Resample by a zoom factor, linear interpolation, voxel centres aligned.",
)
