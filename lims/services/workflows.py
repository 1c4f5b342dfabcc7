"""Workflows and step versions: define workflows (immutable, versioned), set step states.

A workflow is an ordered list of step versions with canonical parameters and optional port
wiring. Editing one creates the next version of the same name with a parent link; old
versions stay, so every run keeps pointing at exactly what it ran. The validation *state*
of a step version is changed only by an administrator, with a reason, and audited; a step
can be made ``validated`` only when ``validation/steps.lock`` holds the evidence for its
exact code digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from audit import EventDraft
from lims.auth.identity import require_admin
from lims.auth.roles import Permission, permissions_of
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import ProcessingStep, Workflow
from lims.models.runs import RESOURCE_CLASSES
from lims.services.context import ServiceContext
from processing.registry import ValidationState
from processing.runchecks import default_registry, lock_state, resolve, sync_step_rows
from processing.step import ParameterError, PortKind, StepSpec, canonical_json

MAX_STEPS = 20
STEP_STATES = ("validated", "draft", "retired")


@dataclasses.dataclass(frozen=True, slots=True)
class StepInfo:
    """A step version as forms and pages show it."""

    name: str
    version: int
    description: str
    state: str
    lock_state: str
    code_digest: str
    parameters: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]

    @property
    def key(self) -> str:
        """``name:version``, as forms send it."""
        return f"{self.name}:{self.version}"


def _ports(spec: StepSpec[Any], which: str) -> list[dict[str, Any]]:
    return [
        {"name": p.name, "kind": p.kind.value, "ndims": sorted(p.ndims), "unit": p.unit}
        for p in getattr(spec, which)
    ]


def step_catalog(ctx: ServiceContext) -> list[StepInfo]:
    """Every installed step version with its state, parameter schema and ports."""
    ctx.require_identity()
    registry = default_registry()
    rows = sync_step_rows(ctx.uow.session, registry)
    out = []
    for spec in registry.all():
        row = rows[spec.key]
        status = registry.validation_state(spec)
        state = row.state
        if status.state is ValidationState.DIGEST_MISMATCH or row.code_digest != status.live_digest:
            state = "digest_mismatch"
        out.append(
            StepInfo(
                name=spec.name,
                version=spec.version,
                description=spec.description,
                state=state,
                lock_state=status.state.value,
                code_digest=status.live_digest,
                parameters=spec.params.schema(),
                inputs=_ports(spec, "inputs"),
                outputs=_ports(spec, "outputs"),
            )
        )
    return out


def may_define(ctx: ServiceContext) -> bool:
    """Whether the caller may define workflows (WORKFLOW_SUBMIT anywhere)."""
    identity = ctx.require_identity()
    if identity.can(Permission.WORKFLOW_SUBMIT):
        return True
    return any(
        Permission.WORKFLOW_SUBMIT in permissions_of(roles)
        for roles in identity.project_roles.values()
    )


def normalize_steps(
    steps: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Check each step and canonicalize its parameters.

    Raises:
        ParameterError: naming the step and the parameter.
        UserError: unknown or retired step, bad wiring, too many steps.
    """
    if not steps:
        raise UserError("a workflow needs at least one step")
    if len(steps) > MAX_STEPS:
        raise UserError(f"a workflow has at most {MAX_STEPS} steps")
    registry = default_registry()
    out = []
    for index, raw in enumerate(steps, start=1):
        spec = resolve(registry, str(raw.get("name", "")), int(raw.get("version", 0)))
        where = f"step {index} ({spec.name} v{spec.version})"
        try:
            params = spec.parse_params(dict(raw.get("parameters") or {}))
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None
        wiring = {str(k): str(v) for k, v in dict(raw.get("wiring") or {}).items() if v}
        unknown = sorted(set(wiring) - {p.name for p in spec.inputs})
        if unknown:
            raise UserError(f"{where}: wiring names unknown input port(s) {', '.join(unknown)}")
        out.append(
            {
                "name": spec.name,
                "version": spec.version,
                "parameters": params.to_dict(),
                "wiring": wiring,
            }
        )
    return out


def array_ports(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Array output ports of the last step that produces arrays (the default outputs)."""
    registry = default_registry()
    for step in reversed(steps):
        spec = registry.get(step["name"], int(step["version"]))
        names = [p.name for p in spec.outputs if p.kind is not PortKind.TABLE]
        if names:
            return names
    return []


def create_workflow(
    ctx: ServiceContext,
    *,
    name: str,
    steps: Sequence[Mapping[str, Any]],
    description: str = "",
    outputs: Sequence[str] = (),
    resource_class: str = "default",
) -> Workflow:
    """Define a workflow, or the next version of an existing one (caller commits).

    Raises:
        PermissionDeniedError: the caller may not submit workflows.
        ParameterError: a parameter is invalid (the message names step and parameter).
        UserError: empty name, unknown or retired step, unknown output port.
    """
    identity = ctx.require_identity()
    if not may_define(ctx):
        raise PermissionDeniedError("you are not allowed to define workflows")
    clean = " ".join(name.split())
    if not clean or len(clean) > 200:  # noqa: PLR2004 - column width
        raise UserError("a workflow needs a name of 1 to 200 characters")
    if resource_class not in RESOURCE_CLASSES:
        raise UserError(f"resource class must be one of {', '.join(RESOURCE_CLASSES)}")
    normalized = normalize_steps(steps)
    session = ctx.uow.session
    rows = sync_step_rows(session, default_registry())
    for step in normalized:
        row = rows.get((step["name"], step["version"]))
        if row is not None and row.state == "retired":
            raise UserError(f"step {step['name']} v{step['version']} is retired")
    produced = {
        p.name
        for s in normalized
        for p in default_registry().get(s["name"], s["version"]).outputs
        if p.kind is not PortKind.TABLE
    }
    wanted = [o for o in dict.fromkeys(outputs) if o]
    unknown = sorted(set(wanted) - produced)
    if unknown:
        raise UserError(f"no step produces an image named {', '.join(unknown)}")
    latest = session.scalars(
        select(Workflow)
        .where(func.lower(Workflow.name) == clean.lower())
        .order_by(Workflow.version.desc())
        .limit(1)
    ).first()  # a concurrent creator of the same version fails on (name, version)
    definition = {"steps": normalized, "outputs": wanted, "resource_class": resource_class}
    workflow = Workflow(
        name=latest.name if latest else clean,
        version=latest.version + 1 if latest else 1,
        parent_id=latest.id if latest else None,
        description=description.strip(),
        steps=normalized,
        outputs=wanted,
        resource_class=resource_class,
        definition_sha256=hashlib.sha256(canonical_json(definition)).hexdigest(),
        created_by_id=identity.user_id,
    )
    session.add(workflow)
    session.flush()
    ctx.audit(
        EventDraft(
            "workflow.create",
            "workflow",
            str(workflow.id),
            {
                "name": workflow.name,
                "version": workflow.version,
                "parent_id": str(workflow.parent_id) if workflow.parent_id else None,
                "definition_sha256": workflow.definition_sha256,
                "steps": [f"{s['name']} v{s['version']}" for s in normalized],
            },
        )
    )
    return workflow


def list_workflows(ctx: ServiceContext, *, all_versions: bool = False) -> list[Workflow]:
    """Workflows by name; only the latest version of each unless ``all_versions``."""
    ctx.require_identity()
    rows = list(
        ctx.uow.session.scalars(
            select(Workflow).order_by(func.lower(Workflow.name), Workflow.version.desc())
        )
    )
    if all_versions:
        return rows
    seen: set[str] = set()
    latest = []
    for row in rows:
        if row.name.lower() not in seen:
            seen.add(row.name.lower())
            latest.append(row)
    return latest


def get_workflow(ctx: ServiceContext, workflow_id: uuid.UUID) -> Workflow:
    """One workflow version. Raises NotFoundError."""
    ctx.require_identity()
    workflow = ctx.uow.session.get(Workflow, workflow_id)
    if workflow is None:
        raise NotFoundError("no such workflow")
    return workflow


def find_workflow(ctx: ServiceContext, name: str, version: int | None = None) -> Workflow:
    """A workflow by name (latest version unless given). Raises NotFoundError."""
    ctx.require_identity()
    query = select(Workflow).where(func.lower(Workflow.name) == " ".join(name.split()).lower())
    if version is not None:
        query = query.where(Workflow.version == version)
    found = ctx.uow.session.scalars(query.order_by(Workflow.version.desc()).limit(1)).first()
    if found is None:
        raise NotFoundError(f"no workflow named {name!r}")
    return found


def set_step_state(
    ctx: ServiceContext, name: str, version: int, *, state: str, reason: str
) -> ProcessingStep:
    """Change a step version's validation state (administrators only; audited).

    Raises:
        PermissionDeniedError: not an administrator.
        UserError: unknown state, no reason, or ``validated`` without lock evidence.
        ConflictError: the step already has this state.
    """
    identity = ctx.require_identity()
    require_admin(identity, "change the validation state of a processing step")
    if state not in STEP_STATES:
        raise UserError(f"state must be one of {', '.join(STEP_STATES)}")
    if not reason.strip():
        raise UserError("changing a step's validation state needs a reason")
    registry = default_registry()
    spec = resolve(registry, name, version)
    if state == "validated" and lock_state(registry, spec) != "validated":
        status = registry.validation_state(spec)
        raise UserError(
            f"step {name} v{version} has no validation evidence for its code digest in "
            f"validation/steps.lock ({status.reason}); run OQ and update the lock first"
        )
    rows = sync_step_rows(ctx.uow.session, registry)
    row = ctx.uow.session.scalars(
        select(ProcessingStep).where(ProcessingStep.id == rows[spec.key].id).with_for_update()
    ).one()
    if row.state == state:
        raise ConflictError(f"step {name} v{version} is already {state}")
    old = row.state
    row.state, row.state_reason = state, reason.strip()
    row.state_changed_by_id, row.state_changed_at = (
        identity.user_id,
        ctx.uow.session.scalar(select(func.now())),
    )
    ctx.audit(
        EventDraft(
            "step.state_change",
            "processing_step",
            str(row.id),
            {"step": f"{name} v{version}", "state": [old, state], "code_digest": row.code_digest},
            reason=reason.strip(),
        )
    )
    return row
