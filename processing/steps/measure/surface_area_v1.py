# mypy: disallow-untyped-calls=False
"""measure.surface_area v1: surface area of one phase by marching cubes, in µm².

The phase (voxels equal to ``phase``) becomes a 0/1 image padded with background on every
side, so its surface is closed; it is smoothed with a Gaussian of ``smoothing_sigma`` voxels
(outside = background) and meshed at level 0.5 with the voxel size as spacing
(``skimage.measure.marching_cubes`` + ``mesh_surface_area``). Meshing the raw staircase
overestimates the area of smooth objects by about 8-12 %; sigma 0.7 brings spheres of
radius 8-20 voxels within about 1 % (0 turns smoothing off).

The mesh is built in fixed tiles of :data:`TILE_PLANES` cube layers (each tile reads a
halo of the Gaussian's reach), so each cube is meshed exactly once and the result does not
depend on the machine's memory budget; the per-tile areas are added with ``math.fsum``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from skimage import filters, measure

from processing.chunked import ArraySource, MemoryBudgetError, read_block
from processing.step import (
    Params,
    Port,
    PortKind,
    StepContext,
    StepResult,
    StepSpec,
    param,
)

TILE_PLANES = 32  # cube layers per tile; part of v1's definition
TRUNCATE = 4.0  # Gaussian reach in sigmas
BYTES_PER_VOXEL = 64  # block, float64 mask and smoothed copy, marching-cubes work and mesh


@dataclass(frozen=True, slots=True, kw_only=True)
class SurfaceAreaParams(Params):
    """Parameters of measure.surface_area v1."""

    phase: int = param(1, minimum=0, maximum=2**31 - 1, description="Phase value to measure")
    smoothing_sigma: float = param(
        0.7, unit="voxel", minimum=0.0, maximum=3.0, description="Gaussian before meshing"
    )


def _smooth(mask: NDArray[np.bool_], sigma: float) -> NDArray[np.float64]:
    image = mask.astype(np.float64)
    if sigma > 0:
        image = filters.gaussian(image, sigma, mode="constant", cval=0.0, truncate=TRUNCATE)
    return np.asarray(image, np.float64)


def _mesh_area(image: NDArray[np.float64], spacing: tuple[float, ...]) -> float:
    """Area (µm²) of the 0.5 level of ``image``; 0 when the level is never crossed."""
    if not image.min() < 0.5 < image.max():  # noqa: PLR2004 - the mask level
        return 0.0
    verts, faces, _, _ = measure.marching_cubes(image, 0.5, spacing=spacing)
    return float(measure.mesh_surface_area(verts, faces))


def _padded(source: ArraySource, lo: int, hi: int, pad: int, phase: int) -> NDArray[np.bool_]:
    """Planes ``[lo, hi)`` of the phase padded by ``pad`` background voxels on every side."""
    nz = source.shape[0]
    out = np.zeros((hi - lo, *(n + 2 * pad for n in source.shape[1:])), np.bool_)
    first, last = max(lo, pad), min(hi, nz + pad)  # padded planes that hold image data
    if first < last:
        inner = read_block(source, first - pad, last - pad) == phase
        out[first - lo : last - lo, pad:-pad, pad:-pad] = inner
    return out


def surface_area(
    ctx: StepContext, params: SurfaceAreaParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Surface area of ``phase`` in ``mask``, and the specific surface (area / volume).

    Raises:
        MemoryBudgetError: one tile does not fit the memory budget.
    """
    source = inputs["mask"]
    reach = int(TRUNCATE * params.smoothing_sigma + 0.5) if params.smoothing_sigma > 0 else 0
    pad = reach + 1
    n_padded = source.shape[0] + 2 * pad
    padded_plane = math.prod(n + 2 * pad for n in source.shape[1:])
    need = (TILE_PLANES + 1 + 2 * reach) * padded_plane * BYTES_PER_VOXEL
    if need > ctx.memory_budget_bytes:
        raise MemoryBudgetError(
            f"measure.surface_area: one tile needs {need} bytes, more than the memory budget "
            f"of {ctx.memory_budget_bytes} bytes"
        )
    spacing = ctx.spacing(3)
    areas = []
    for first in range(0, n_padded - 1, TILE_PLANES):
        last = min(first + TILE_PLANES, n_padded - 1)  # tile = padded planes first..last
        lo, hi = max(0, first - reach), min(n_padded, last + 1 + reach)
        image = _smooth(_padded(source, lo, hi, pad, params.phase), params.smoothing_sigma)
        areas.append(_mesh_area(image[first - lo : last + 1 - lo], spacing))
        ctx.progress(last / (n_padded - 1), f"planes {last}/{n_padded - 1}")
    area = math.fsum(areas)
    volume = math.prod(source.shape) * math.prod(spacing)
    return StepResult(
        scalars={"surface_area_um2": area, "specific_surface_per_um": area / volume},
        scalar_units={"surface_area_um2": "µm²", "specific_surface_per_um": "1/µm"},
    )


SURFACE_AREA_V1: StepSpec[SurfaceAreaParams] = StepSpec(
    name="measure.surface_area",
    version=1,
    params=SurfaceAreaParams,
    inputs=(
        Port(
            "mask",
            PortKind.LABEL,
            ndims=frozenset({3}),
            dtype_kinds="bui",
            description="Mask or phase image",
        ),
    ),
    outputs=(),
    func=surface_area,
    description="Surface area of a phase by marching cubes after light smoothing, µm².",
)
