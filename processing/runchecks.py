"""Checks a run must pass at submit and again in the worker (P11-12, P11-13).

- Step versions: registered, not retired, live code digest equal to the recorded one, and on
  a GxP project validated both in ``validation/steps.lock`` (digest-locked evidence) and in
  the database (the administrative state in ``processing_steps``).
- The submitter (still) holds the permission in the run's project.
- The wiring: every input port finds an image of an accepted dimensionality.

The ``processing_steps`` rows mirror the code registry; :func:`sync_step_rows` inserts the
missing ones with the state the lock gives (never changing an existing row's state).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from lims.auth.roles import Permission, Role, permissions_of
from lims.models import ProcessingStep, RoleAssignment, User
from processing.registry import (
    LockState,
    StepLock,
    StepRegistry,
    UnknownStepError,
    ValidationState,
    default_lock_path,
)
from processing.step import PortKind, StepInputError, StepSpec
from processing.steps import ALL_STEPS


@functools.cache
def default_registry() -> StepRegistry:
    """The shipped steps with the shipped lock (built once per process, on first use)."""
    return StepRegistry(ALL_STEPS, StepLock.load(default_lock_path()))


def lock_state(registry: StepRegistry, spec: StepSpec[Any]) -> str:
    """The state a new ``processing_steps`` row starts in: the lock's, else ``draft``."""
    status = registry.validation_state(spec)
    if status.entry is not None and status.entry.state is LockState.RETIRED:
        return "retired"
    return "validated" if status.state is ValidationState.VALIDATED else "draft"


def sync_step_rows(
    session: Session, registry: StepRegistry
) -> dict[tuple[str, int], ProcessingStep]:
    """Insert a row for every registered step version that has none; return all rows."""
    rows = {(r.name, r.version): r for r in session.scalars(select(ProcessingStep))}
    missing = [spec for spec in registry.all() if spec.key not in rows]
    if missing:
        session.execute(
            insert(ProcessingStep)
            .values(
                [
                    {
                        "name": spec.name,
                        "version": spec.version,
                        "code_digest": registry.validation_state(spec).live_digest,
                        "description": spec.description,
                        "state": lock_state(registry, spec),
                        "state_reason": "registered from validation/steps.lock",
                    }
                    for spec in missing
                ]
            )
            .on_conflict_do_nothing(index_elements=["name", "version"])
        )
        rows = {(r.name, r.version): r for r in session.scalars(select(ProcessingStep))}
    return rows


def step_problem(  # noqa: PLR0911 - one reason per refusal
    registry: StepRegistry,
    row: ProcessingStep | None,
    spec: StepSpec[Any],
    *,
    recorded_digest: str | None,
    is_gxp: bool,
    allow_retired: bool = False,
) -> str | None:
    """Why a step version may not run here, or None when it may.

    Args:
        registry: the live registry (code digests, lock).
        row: the step's database row (its administrative state).
        spec: the step version.
        recorded_digest: the code digest recorded in the run (None at first submit).
        is_gxp: whether the run is on a GxP project (validated steps only).
        allow_retired: a replay may re-run a retired step; a new run may not.
    """
    label = f"step {spec.name} v{spec.version}"
    status = registry.validation_state(spec)
    if recorded_digest is not None and recorded_digest != status.live_digest:
        return (
            f"{label}: the installed code (digest {status.live_digest}) differs from the code "
            f"the run recorded ({recorded_digest})"
        )
    state = row.state if row is not None else lock_state(registry, spec)
    if state == "retired" and not allow_retired:
        return f"{label} is retired and may not be used for new runs"
    if row is not None and row.code_digest != status.live_digest:
        return f"{label}: code digest {status.live_digest} differs from the registered one"
    if not is_gxp:
        return None
    if status.state is ValidationState.DIGEST_MISMATCH:
        return f"{label} may not run on GxP data: {status.reason}"
    if state != "validated" or status.state is not ValidationState.VALIDATED:
        return f"{label} is not validated (state {state}) and may not run on GxP data"
    return None


def submitter_may(
    session: Session, user_id: uuid.UUID, project_id: uuid.UUID, permission: Permission
) -> bool:
    """Whether an active user holds ``permission`` (and catalogue read) in a project now."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.retired_at is not None:
        return False
    names = session.scalars(
        select(RoleAssignment.role).where(
            RoleAssignment.user_id == user_id,
            RoleAssignment.revoked_at.is_(None),
            or_(RoleAssignment.project_id.is_(None), RoleAssignment.project_id == project_id),
        )
    )
    granted = permissions_of(frozenset(Role(name) for name in names))
    return permission in granted and Permission.CATALOGUE_READ in granted


@dataclasses.dataclass(frozen=True, slots=True)
class PortShape:
    """What is known of an image before it exists: dimensions and value type."""

    ndim: int
    dtype: str | None = None


def check_wiring(
    specs: Sequence[tuple[StepSpec[Any], Mapping[str, str]]], inputs: Mapping[str, PortShape]
) -> None:
    """Follow the workflow through its ports and refuse images of the wrong dimensions.

    Outputs take the dimensionality of their step's first input (every shipped step keeps
    it); value types are checked for the workflow inputs, whose dtype is known.

    Raises:
        StepInputError: naming the step, the port, what it accepts and what it would get.
    """
    known = dict(inputs)
    for index, (spec, wiring) in enumerate(specs):
        first: PortShape | None = None
        for port in spec.inputs:
            source = wiring.get(port.name, port.name)
            where = f"step {index + 1} ({spec.name} v{spec.version}), input {port.name!r}"
            if source not in known:
                raise StepInputError(f"{where}: nothing named {source!r}; have {sorted(known)}")
            shape = known[source]
            if shape.ndim not in port.ndims:
                raise StepInputError(
                    f"{where} needs a {' or '.join(f'{n}D' for n in sorted(port.ndims))} "
                    f"image, but gets a {shape.ndim}D image"
                )
            if shape.dtype is not None and shape.dtype.lstrip("<>=|")[:1] not in port.dtype_kinds:
                kind = shape.dtype.lstrip("<>=|")[:1]
                raise StepInputError(
                    f"{where} does not accept values of type {shape.dtype} ({kind})"
                )
            first = first or shape
        for port in spec.outputs:
            if port.kind is not PortKind.TABLE and first is not None:
                known[port.name] = PortShape(first.ndim)


def resolve(registry: StepRegistry, name: str, version: int) -> StepSpec[Any]:
    """A registered step version, or a clear UnknownStepError."""
    try:
        return registry.get(name, version)
    except UnknownStepError:
        raise UnknownStepError(f"no step {name} v{version} is installed on this system") from None
