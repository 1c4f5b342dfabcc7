"""Execute one step, or an ordered chain of steps, in memory: no database, no queue.

Wiring convention of :func:`run_workflow`: every array or table a step produces is put in a
namespace under its output port name, replacing any earlier entry of that name; the
workflow's inputs start the namespace. Each step takes each input port from the namespace
entry of the same name, unless its :attr:`WorkflowStep.wiring` maps the port to another
name (e.g. ``{"phases": "mask"}`` to measure porosity of a thresholded mask). The voxel
size carries over from step to step and changes when a step reports a new one (binning,
resampling). A seeded step gets ``np.random.default_rng([seed, index])``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from lims.storage.arrays import array_digest
from processing.chunked import ArraySource
from processing.step import (
    ParameterError,
    Params,
    Port,
    PortKind,
    StepContext,
    StepInputError,
    StepResult,
    StepSpec,
    Table,
)


def check_input(spec: StepSpec[Any], port: Port, array: ArraySource) -> None:
    """Refuse an input whose dimensions or dtype kind the port does not accept.

    Raises:
        StepInputError: with the port, what it accepts and what it got.
    """
    ndim, dtype = len(array.shape), np.dtype(array.dtype)
    where = f"step {spec.name} v{spec.version}, input {port.name!r}"
    if ndim not in port.ndims:
        raise StepInputError(f"{where}: expects {sorted(port.ndims)}-D, got {ndim}-D")
    if dtype.kind not in port.dtype_kinds:
        raise StepInputError(f"{where}: expects dtype kind in {port.dtype_kinds!r}, got {dtype}")
    if 0 in array.shape:
        raise StepInputError(f"{where}: the image is empty (shape {tuple(array.shape)})")


def run_step(
    spec: StepSpec[Any], params: Params, inputs: Mapping[str, ArraySource], ctx: StepContext
) -> StepResult:
    """Validate the inputs against the ports, run the step, check its outputs.

    Raises:
        ParameterError: ``params`` is not the step's parameter class.
        StepInputError: missing, unexpected or ill-shaped inputs; a seeded step without rng.
    """
    if not isinstance(params, spec.params):
        raise ParameterError(
            f"step {spec.name} v{spec.version} takes {spec.params.__name__}, "
            f"not {type(params).__name__}"
        )
    expected = {p.name for p in spec.inputs}
    missing, extra = sorted(expected - set(inputs)), sorted(set(inputs) - expected)
    if missing or extra:
        raise StepInputError(
            f"step {spec.name} v{spec.version}: missing inputs {missing}, unexpected {extra}"
        )
    for port in spec.inputs:
        check_input(spec, port, inputs[port.name])
    if spec.seeded and ctx.rng is None:
        raise StepInputError(f"step {spec.name} v{spec.version} is seeded and needs an rng")
    result = spec.func(ctx, params, inputs)
    for port in spec.outputs:
        produced = result.tables if port.kind is PortKind.TABLE else result.arrays
        if port.name not in produced:
            raise RuntimeError(f"step {spec.name} v{spec.version} did not produce {port.name!r}")
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowStep:
    """One step of an in-memory workflow with its parameters and optional port wiring."""

    spec: StepSpec[Any]
    params: Params
    wiring: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowResult:
    """Results per step, and the final namespace of arrays and tables by name."""

    steps: tuple[StepResult, ...]
    arrays: Mapping[str, ArraySource]
    tables: Mapping[str, Table]
    voxel_size_um: tuple[float, ...]


def run_workflow(
    steps: Sequence[WorkflowStep],
    inputs: Mapping[str, ArraySource],
    ctx: StepContext,
    *,
    seed: int | None = None,
) -> WorkflowResult:
    """Run ``steps`` in order, wiring outputs to inputs by port name (module docstring).

    Raises:
        StepInputError: an input port finds nothing in the namespace, or a seeded step
            runs without ``seed``.
    """
    arrays: dict[str, ArraySource] = dict(inputs)
    tables: dict[str, Table] = {}
    results = []
    for index, step in enumerate(steps):
        step_inputs = {}
        for port in step.spec.inputs:
            source = step.wiring.get(port.name, port.name)
            if source not in arrays:
                raise StepInputError(
                    f"workflow step {index + 1} ({step.spec.name}): no array named {source!r} "
                    f"for input {port.name!r}; available: {sorted(arrays)}"
                )
            step_inputs[port.name] = arrays[source]
        step_ctx = ctx
        if step.spec.seeded:
            if seed is None:
                raise StepInputError(f"workflow step {index + 1} ({step.spec.name}) needs a seed")
            step_ctx = dataclasses.replace(ctx, rng=np.random.default_rng([seed, index]))
        result = run_step(step.spec, step.params, step_inputs, step_ctx)
        arrays.update(result.arrays)
        tables.update(result.tables)
        if result.voxel_size_um is not None:
            ctx = dataclasses.replace(ctx, voxel_size_um=result.voxel_size_um)
        results.append(result)
    return WorkflowResult(tuple(results), arrays, tables, ctx.voxel_size_um)


def result_digests(result: StepResult) -> dict[str, str]:
    """Digest of every output: array digest (DESIGN) for arrays, table SHA-256 for tables."""
    # array_digest reads any sliceable array-like in blocks; its annotation says ArrayLike
    digests = {name: array_digest(cast("ArrayLike", a)) for name, a in result.arrays.items()}
    digests.update({name: table.sha256() for name, table in result.tables.items()})
    return digests
