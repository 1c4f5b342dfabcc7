"""roi.crop v1: cut a box (region of interest) out of an image, copying slab by slab.

Bounds are voxel indices, start inclusive and stop exclusive. A 2D image is treated as one
plane: ``z_start = 0`` and ``z_stop = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing.chunked import ArraySource, planes_for_budget
from processing.step import (
    ParameterError,
    Params,
    Port,
    StepContext,
    StepResult,
    StepSpec,
    param,
)

MAX_INDEX = 2**31 - 1
AXES = ("z", "y", "x")


def _bound(description: str) -> Any:  # noqa: ANN401 - a dataclass field
    return param(unit="voxel", minimum=0, maximum=MAX_INDEX, description=description)


@dataclass(frozen=True, slots=True, kw_only=True)
class CropParams(Params):
    """Parameters of roi.crop v1."""

    z_start: int = _bound("First plane kept")
    z_stop: int = _bound("Plane after the last one kept")
    y_start: int = _bound("First row kept")
    y_stop: int = _bound("Row after the last one kept")
    x_start: int = _bound("First column kept")
    x_stop: int = _bound("Column after the last one kept")

    def check(self) -> None:
        """Each start is below its stop."""
        for axis in AXES:
            if getattr(self, f"{axis}_start") >= getattr(self, f"{axis}_stop"):
                raise ParameterError(f"parameter {axis}_stop must be greater than {axis}_start")


def crop(ctx: StepContext, params: CropParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Copy the box out of ``image``.

    Raises:
        ParameterError: a stop lies beyond the image.
    """
    image = inputs["image"]
    shape3 = tuple(image.shape) if len(image.shape) == 3 else (1, *image.shape)  # noqa: PLR2004
    for axis, size in zip(AXES, shape3, strict=True):
        if getattr(params, f"{axis}_stop") > size:
            raise ParameterError(f"parameter {axis}_stop is beyond the image ({axis} size {size})")
    z0, y0, x0 = params.z_start, params.y_start, params.x_start
    out_shape3 = (params.z_stop - z0, params.y_stop - y0, params.x_stop - x0)
    out_shape = out_shape3 if len(image.shape) == 3 else out_shape3[1:]  # noqa: PLR2004
    out = ctx.allocate(out_shape, np.dtype(image.dtype))
    if len(image.shape) == 2:  # noqa: PLR2004
        out[...] = np.asarray(image[y0 : params.y_stop, x0 : params.x_stop])
        return StepResult(arrays={"image": out})
    planes = planes_for_budget(
        out_shape,
        bytes_per_voxel=2 * image.dtype.itemsize,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="roi.crop",
    )
    for start in range(0, out_shape[0], planes):
        stop = min(start + planes, out_shape[0])
        block = image[z0 + start : z0 + stop, y0 : params.y_stop, x0 : params.x_stop]
        out[start:stop] = np.asarray(block)
        ctx.progress(stop / out_shape[0], f"planes {stop}/{out_shape[0]}")
    return StepResult(arrays={"image": out})


CROP_V1: StepSpec[CropParams] = StepSpec(
    name="roi.crop",
    version=1,
    params=CropParams,
    inputs=(Port("image", description="Image to crop"),),
    outputs=(Port("image", description="The region of interest, same dtype"),),
    func=crop,
    description="Crop a box (region of interest); voxel indices, stop exclusive.",
)
