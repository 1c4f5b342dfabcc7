"""measure.porosity v1: volume fraction of every phase of a mask or phase image.

Counts are exact integers accumulated slab by slab; each fraction is ``voxels / total``.
The porosity scalar is the fraction of ``pore_phase`` (0 when that phase is absent).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from processing.chunked import ArraySource, iter_slabs, planes_for_budget
from processing.step import (
    Params,
    Port,
    PortKind,
    Scalar,
    StepContext,
    StepResult,
    StepSpec,
    Table,
    param,
)

BYTES_PER_VOXEL = 24  # block, sorted copy inside np.unique


@dataclass(frozen=True, slots=True, kw_only=True)
class PorosityParams(Params):
    """Parameters of measure.porosity v1."""

    pore_phase: int = param(
        0, minimum=0, maximum=2**31 - 1, description="Phase value counted as pore space"
    )


def porosity(
    ctx: StepContext, params: PorosityParams, inputs: Mapping[str, ArraySource]
) -> StepResult:
    """Table of voxels, volume and fraction per phase value, and the porosity scalar."""
    phases = inputs["phases"]
    planes = planes_for_budget(
        phases.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="measure.porosity",
    )
    counts: Counter[int] = Counter()
    for _, block in iter_slabs(phases, planes):
        values, found = np.unique(block.astype(np.int64, copy=False), return_counts=True)
        counts.update(dict(zip(values.tolist(), found.tolist(), strict=True)))
    total = math.prod(phases.shape)
    voxel_um3 = math.prod(ctx.spacing(len(phases.shape)))
    rows: list[Mapping[str, Scalar]] = [
        {
            "phase": value,
            "voxels": counts[value],
            "volume_um3": counts[value] * voxel_um3,
            "fraction": counts[value] / total,
        }
        for value in sorted(counts)
    ]
    table = Table(
        columns=("phase", "voxels", "volume_um3", "fraction"),
        units={"phase": "label", "voxels": "voxel", "volume_um3": "µm³", "fraction": "1"},
        rows=tuple(rows),
    )
    return StepResult(
        tables={"phases": table},
        scalars={"porosity": counts[params.pore_phase] / total, "total_voxels": total},
        scalar_units={"porosity": "1", "total_voxels": "voxel"},
    )


POROSITY_V1: StepSpec[PorosityParams] = StepSpec(
    name="measure.porosity",
    version=1,
    params=PorosityParams,
    inputs=(Port("phases", PortKind.LABEL, dtype_kinds="bui", description="Mask or phases"),),
    outputs=(Port("phases", PortKind.TABLE, description="Voxels and fraction per phase"),),
    func=porosity,
    description="Porosity and phase volume fractions from a mask or phase image (exact counts).",
)
