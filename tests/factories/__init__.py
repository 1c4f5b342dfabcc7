"""Builders of test records through the real services."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import numpy as np

from audit import Actor
from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.models import RoleAssignment
from lims.services import users
from lims.services.catalogue import create_project, create_sample
from lims.services.context import ServiceContext

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    uow: UnitOfWork,
    username: str,
    *,
    display_name: str | None = None,
    roles: frozenset[Role] | set[Role] = frozenset({Role.MICROSCOPIST}),
    project_roles: dict[uuid.UUID, set[Role]] | None = None,
    password: str = DEFAULT_PASSWORD,
    email: str | None = None,
) -> Identity:
    user = users.insert_user(
        uow.session,
        Actor.system("test"),
        username=username,
        display_name=display_name or username.title(),
        password=password,
        email=email,
        roles=frozenset(roles),
        reason="test account",
    )
    for project_id, granted in (project_roles or {}).items():
        for role in granted:
            uow.session.add(
                RoleAssignment(
                    user_id=user.id,
                    role=role.value,
                    project_id=project_id,
                    reason="test membership",
                )
            )
    uow.commit()
    return users.identity_of(uow.session, user, {"via": "test"})


def as_project_admin(ctx: ServiceContext) -> ServiceContext:
    """The same person with the admin role added, for setting up projects in tests."""
    identity = ctx.require_identity()
    promoted = dataclasses.replace(identity, roles=identity.roles | {Role.ADMIN})
    return dataclasses.replace(ctx, identity=promoted)


def make_sample(ctx: ServiceContext, project: str = "Battery", sample: str = "Cell 7") -> None:
    create_project(as_project_admin(ctx), name=project)
    create_sample(ctx, project_name=project, name=sample)
    ctx.uow.commit()


def write_volume(path: Path, seed: int = 0, shape: tuple[int, ...] = (8, 32, 32)) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rng.integers(0, 65535, size=shape, dtype=np.uint16).tobytes())
    return path
