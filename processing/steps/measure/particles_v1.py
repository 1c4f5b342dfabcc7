# mypy: disallow-untyped-calls=False
"""measure.particles v1: per-particle table of a 3D label image.

Pass 1 (slab by slab): voxel count and bounding box of every label. Pass 2 (per particle):
the particle's bounding box is read, padded with background, smoothed with a Gaussian of
``smoothing_sigma`` voxels (as in measure.surface_area v1, which explains the default) and
meshed by marching cubes at level 0.5 with the voxel size as spacing: its surface area.
Then

- volume = voxels x voxel volume (µm³);
- equivalent diameter = (6 V / π)^(1/3) (µm), the diameter of a sphere of that volume;
- sphericity = π^(1/3) (6 V)^(2/3) / A (1 for a ball). Voxelisation makes it approximate:
  balls of radius 8-20 voxels give 0.99-1.01; very small particles can exceed 1.

Bounding boxes are voxel indices, start inclusive, stop exclusive. ``touches_border`` marks
particles cut by the image edge (their measures are of the visible part only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi  # type: ignore[import-untyped]
from skimage import filters, measure

from processing.chunked import ArraySource, iter_slabs, planes_for_budget, require_in_memory
from processing.step import (
    Params,
    Port,
    PortKind,
    Scalar,
    StepContext,
    StepInputError,
    StepResult,
    StepSpec,
    Table,
    param,
)

TRUNCATE = 4.0  # Gaussian reach in sigmas
BYTES_PER_VOXEL = 24  # label block, bincount and find_objects work
CROP_BYTES_PER_VOXEL = 48  # crop, float32 mask, marching-cubes work arrays
COLUMNS = {
    "label": "label",
    "voxels": "voxel",
    "volume_um3": "µm³",
    "equivalent_diameter_um": "µm",
    "surface_area_um2": "µm²",
    "sphericity": "1",
    "z0": "voxel",
    "y0": "voxel",
    "x0": "voxel",
    "z1": "voxel",
    "y1": "voxel",
    "x1": "voxel",
    "touches_border": "bool",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticlesParams(Params):
    """Parameters of measure.particles v1."""

    min_voxels: int = param(
        1, unit="voxel", minimum=1, maximum=2**40, description="Smaller particles are left out"
    )
    smoothing_sigma: float = param(
        0.7, unit="voxel", minimum=0.0, maximum=3.0, description="Gaussian before meshing"
    )


def _extents(source: ArraySource, planes: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Voxel counts per label, and boxes as rows (z0, y0, x0, z1, y1, x1)."""
    counts = np.zeros(1, np.int64)
    boxes = np.zeros((1, 6), np.int64)
    for start, block in iter_slabs(source, planes):
        if block.size and block.min() < 0:
            raise StepInputError("measure.particles: label images must not hold negative values")
        top = int(block.max())
        if top >= len(counts):
            counts = np.pad(counts, (0, top + 1 - len(counts)))
            boxes = np.pad(boxes, ((0, top + 1 - len(boxes)), (0, 0)))
        counts[: top + 1] += np.bincount(block.reshape(-1), minlength=top + 1)
        for i, box in enumerate(ndi.find_objects(block), start=1):
            if box is None:
                continue
            lo = (box[0].start + start, box[1].start, box[2].start)
            hi = (box[0].stop + start, box[1].stop, box[2].stop)
            if boxes[i, 3] == 0:  # first slab where the label appears
                boxes[i] = (*lo, *hi)
            else:
                boxes[i, :3] = np.minimum(boxes[i, :3], lo)
                boxes[i, 3:] = np.maximum(boxes[i, 3:], hi)
    return counts, boxes


def _area(mask: NDArray[np.bool_], sigma: float, spacing: tuple[float, ...]) -> float:
    """Marching-cubes area (µm²) of a padded particle mask after Gaussian smoothing."""
    image = mask.astype(np.float64)
    if sigma > 0:
        image = filters.gaussian(image, sigma, mode="constant", cval=0.0, truncate=TRUNCATE)
    verts, faces, _, _ = measure.marching_cubes(image, 0.5, spacing=spacing)
    return float(measure.mesh_surface_area(verts, faces))


def _row(
    source: ArraySource,
    label: int,
    voxels: int,
    box: NDArray[np.int64],
    *,
    sigma: float,
    ctx: StepContext,
) -> dict[str, Scalar]:
    spacing = ctx.spacing(3)
    pad = int(TRUNCATE * sigma + 0.5) + 1
    shape = tuple(int(n) + 2 * pad for n in box[3:] - box[:3])
    require_in_memory(
        shape,
        bytes_per_voxel=CROP_BYTES_PER_VOXEL,
        budget_bytes=ctx.memory_budget_bytes,
        what=f"measure.particles (particle {label})",
    )
    crop: Any = source[tuple(slice(int(a), int(b)) for a, b in zip(box[:3], box[3:], strict=True))]
    area = _area(np.pad(np.asarray(crop) == label, pad), sigma, spacing)
    volume = voxels * math.prod(spacing)
    z0, y0, x0, z1, y1, x1 = (int(v) for v in box)
    ends = zip((z1, y1, x1), source.shape, strict=True)
    border = min(z0, y0, x0) == 0 or any(stop == n for stop, n in ends)
    return {
        "label": label,
        "voxels": voxels,
        "volume_um3": volume,
        "equivalent_diameter_um": (6.0 * volume / math.pi) ** (1.0 / 3.0),
        "surface_area_um2": area,
        "sphericity": math.pi ** (1.0 / 3.0) * (6.0 * volume) ** (2.0 / 3.0) / area,
        **dict(zip(("z0", "y0", "x0", "z1", "y1", "x1"), (z0, y0, x0, z1, y1, x1), strict=True)),
        "touches_border": border,
    }


def particles(
    ctx: StepContext, params: ParticlesParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """One table row per label of ``labels`` with at least ``min_voxels`` voxels."""
    source = inputs["labels"]
    planes = planes_for_budget(
        source.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="measure.particles",
    )
    counts, boxes = _extents(source, planes)
    kept = [i for i in range(1, len(counts)) if counts[i] >= params.min_voxels]
    rows = []
    for n, label in enumerate(kept, start=1):
        row = _row(
            source, label, int(counts[label]), boxes[label], sigma=params.smoothing_sigma, ctx=ctx
        )
        rows.append(row)
        ctx.progress(n / len(kept), f"particle {n}/{len(kept)}")
    table = Table(columns=tuple(COLUMNS), units=dict(COLUMNS), rows=tuple(rows))
    return StepResult(tables={"particles": table}, scalars={"count": len(rows)})


PARTICLES_V1: StepSpec[ParticlesParams] = StepSpec(
    name="measure.particles",
    version=1,
    params=ParticlesParams,
    inputs=(
        Port(
            "labels",
            PortKind.LABEL,
            ndims=frozenset({3}),
            dtype_kinds="ui",
            unit="label",
            description="Label image, 0 = background",
        ),
    ),
    outputs=(Port("particles", PortKind.TABLE, description="One row per particle"),),
    func=particles,
    description="Per-particle volume, equivalent diameter, surface area, sphericity, box.",
)
