"""Builders of test records through the real services."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audit import Actor
from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.services import users
from lims.services.catalogue import create_project, create_sample
from lims.services.context import ServiceContext

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    uow: UnitOfWork,
    username: str,
    *,
    display_name: str | None = None,
    is_admin: bool = False,
    password: str = DEFAULT_PASSWORD,
) -> Identity:
    user = users._insert_user(
        uow.session,
        Actor.system("test"),
        username=username,
        display_name=display_name or username.title(),
        password=password,
        email=None,
        is_admin=is_admin,
    )
    uow.commit()
    return users.identity_of(user, {"via": "test"})


def make_sample(ctx: ServiceContext, project: str = "Battery", sample: str = "Cell 7") -> None:
    create_project(ctx, name=project)
    create_sample(ctx, project_name=project, name=sample)
    ctx.uow.commit()


def write_volume(path: Path, seed: int = 0, shape: tuple[int, ...] = (8, 32, 32)) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rng.integers(0, 65535, size=shape, dtype=np.uint16).tobytes())
    return path
