"""segment.label v1: connected-component labelling of a mask, slab by slab, int32 labels.

Each slab is labelled on its own (``scipy.ndimage.label``) with provisional labels that
continue across slabs. Components touching across a slab boundary (per the connectivity)
are merged with a union-find whose root is always the smallest provisional label; final
labels are then numbered 1..N by that smallest label, i.e. in raster order of each
component's first voxel — the numbering ``scipy.ndimage.label`` gives the whole image, so
the result is identical to labelling the whole mask at once and independent of slab size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi  # type: ignore[import-untyped]

from processing.chunked import ArraySource, iter_slabs, planes_for_budget
from processing.step import (
    Params,
    Port,
    PortKind,
    StepContext,
    StepInputError,
    StepResult,
    StepSpec,
    param,
)

BYTES_PER_VOXEL = 24  # mask block, int32 labels, int64 offset labels
MAX_LABEL = np.iinfo(np.int32).max


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelParams(Params):
    """Parameters of segment.label v1."""

    connectivity: int = param(
        1,
        minimum=1,
        maximum=3,
        description="Neighbours that connect: 1 faces, 2 +edges, 3 +corners (3D); 2D max 2",
    )


def _boundary_pairs(
    prev: NDArray[np.int64], cur: NDArray[np.int64], structure: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Pairs (label in plane z-1, label in plane z) that the structure connects."""
    found = []
    for offset in np.argwhere(structure[2]) - 1:
        a = tuple(slice(max(0, -d), n - max(0, d)) for d, n in zip(offset, prev.shape, strict=True))
        b = tuple(slice(max(0, d), n - max(0, -d)) for d, n in zip(offset, cur.shape, strict=True))
        pa, pb = prev[a].reshape(-1), cur[b].reshape(-1)
        both = (pa > 0) & (pb > 0)
        found.append(np.stack([pa[both], pb[both]], axis=1))
    return np.unique(np.concatenate(found), axis=0) if found else np.zeros((0, 2), np.int64)


def _find(parent: NDArray[np.int64], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def relabel_table(total: int, pairs: NDArray[np.int64]) -> NDArray[np.int32]:
    """Lookup table provisional -> final label after merging ``pairs``."""
    parent = np.arange(total + 1, dtype=np.int64)
    for a, b in pairs:
        ra, rb = _find(parent, int(a)), _find(parent, int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    while True:  # pointer jumping: every entry points at its root (the smallest member)
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    is_root = parent == np.arange(total + 1)
    is_root[0] = False
    number = np.cumsum(is_root)
    return number[parent].astype(np.int32)


def label(ctx: StepContext, params: LabelParams, inputs: Mapping[str, ArraySource]) -> StepResult:
    """Label the connected components of the non-zero voxels of ``mask``.

    Raises:
        StepInputError: connectivity above the image's dimension, or more than 2**31-1 parts.
    """
    mask = inputs["mask"]
    ndim = len(mask.shape)
    if params.connectivity > ndim:
        raise StepInputError(f"parameter connectivity {params.connectivity} exceeds {ndim}D")
    structure = ndi.generate_binary_structure(ndim, params.connectivity)
    planes = planes_for_budget(
        mask.shape,
        bytes_per_voxel=BYTES_PER_VOXEL,
        depth=0,
        budget_bytes=ctx.memory_budget_bytes,
        what="segment.label",
    )
    out = ctx.allocate(mask.shape, np.dtype(np.int32))
    total, pairs, prev = 0, [], None
    for start, block in iter_slabs(mask, planes):
        labels, count = ndi.label(block != 0, structure=structure)
        if total + count > MAX_LABEL:
            raise StepInputError("segment.label: more than 2**31-1 provisional components")
        labels = labels.astype(np.int64)
        labels[labels > 0] += total
        if prev is not None:
            pairs.append(_boundary_pairs(prev, labels[0], structure))
        out[start : start + len(block)] = labels.astype(np.int32)
        prev, total = labels[-1], total + int(count)
        ctx.progress(0.5 * (start + len(block)) / mask.shape[0], "labelling slabs")
    merged = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)
    lut = relabel_table(total, merged)
    for start, block in iter_slabs(out, planes):
        out[start : start + len(block)] = lut[block]
    count = int(lut.max()) if total else 0
    return StepResult(arrays={"labels": out}, scalars={"count": count})


LABEL_V1: StepSpec[LabelParams] = StepSpec(
    name="segment.label",
    version=1,
    params=LabelParams,
    inputs=(Port("mask", PortKind.LABEL, dtype_kinds="bui", description="Non-zero = object"),),
    outputs=(
        Port("labels", PortKind.LABEL, dtype_kinds="i", unit="label", description="0 = none"),
    ),
    func=label,
    description="Connected-component labelling (scipy.ndimage.label, slab-wise union-find).",
)
