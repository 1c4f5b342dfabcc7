"""The role x action matrix over the real web endpoints, generated from ROLE_PERMISSIONS.

For every role and every action: when the role's permissions allow it, the action works;
otherwise the server answers 403 and nothing changed (rows and audit events counted before
and after). Project membership: a member of project A sees nothing of project B (404, so
that B's existence is not revealed), whatever ids they guess.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from audit.models import AuditEvent
from lims.auth.roles import ROLE_PERMISSIONS, Permission, Role
from lims.db.uow import UnitOfWork
from lims.models import (
    Analysis,
    Dataset,
    DatasetVersion,
    Note,
    Project,
    Retirement,
    Sample,
    User,
    VersionFile,
)
from tests.factories import make_user
from tests.integration.web.conftest import csrf_token, log_in, make_project
from tests.integration.web.uploading import make_sample_via_web, open_batch, upload

_FILE_LINK = re.compile(r'href="(/files/[0-9a-f-]{36})"')


@dataclasses.dataclass(frozen=True)
class World:
    """One project with a sample, a dataset of one version and one file."""

    project_url: str
    sample_url: str
    dataset_url: str
    file_url: str


@pytest.fixture
def world(app: Flask, uow: UnitOfWork) -> World:
    make_user(uow, "setup-scientist", roles={Role.MICROSCOPIST})
    client = app.test_client()
    assert log_in(client, "setup-scientist").status_code == 302
    sample_url = make_sample_via_web(client)
    dataset_url = upload(client, sample_url, {"scan.raw": b"projection"}).get_json()["url"]
    file_id = uow.session.scalars(select(VersionFile.id)).one()
    project_url = "/projects/" + str(uow.session.scalars(select(Project.id)).one())
    return World(project_url, sample_url, dataset_url, f"/files/{file_id}")


def _count(model: type) -> Callable[[UnitOfWork], int]:
    def count(uow: UnitOfWork) -> int:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0

    return count


def _events(action: str) -> Callable[[UnitOfWork], int]:
    def count(uow: UnitOfWork) -> int:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        return uow.session.scalar(query) or 0

    return count


def _form(client: FlaskClient, page: str, action: str, prefix: str, **fields: str) -> TestResponse:
    token = csrf_token(client, page)
    data = {f"{prefix}-{key}" if prefix else key: value for key, value in fields.items()}
    data[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
    return client.post(action, data=data)


def _upload(client: FlaskClient, w: World) -> TestResponse:
    token = csrf_token(client, "/")
    opened = client.post(
        f"{w.sample_url}/uploads",
        data={"dataset": "scan-002", "reason": "second scan"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    if opened.status_code != 200:
        return opened
    return upload(client, w.sample_url, {"more.raw": b"more"}, dataset="scan-002")


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing a person does on the web, the permission it needs and what it adds."""

    name: str
    permission: Permission
    run: Callable[[FlaskClient, World], TestResponse]
    adds: Callable[[UnitOfWork], int] | None = None
    ok: tuple[int, ...] = (200,)


ACTIONS = [
    Action("view project list", Permission.CATALOGUE_READ, lambda c, _w: c.get("/")),
    Action("view a dataset", Permission.CATALOGUE_READ, lambda c, w: c.get(w.dataset_url)),
    Action("download a file", Permission.DATA_DOWNLOAD, lambda c, w: c.get(w.file_url)),
    Action(
        "create project",
        Permission.PROJECT_MANAGE,
        lambda c, _w: _form(c, "/", "/projects", "", name="Cathode"),
        _count(Project),
        (302,),
    ),
    Action(
        "create sample",
        Permission.SAMPLE_WRITE,
        lambda c, w: _form(c, w.project_url, f"{w.project_url}/samples", "", name="Cell 8"),
        _count(Sample),
        (302,),
    ),
    Action("upload files", Permission.DATA_WRITE, _upload, _count(DatasetVersion)),
    Action(
        "amend metadata",
        Permission.DATA_WRITE,
        lambda c, w: _form(
            c,
            w.dataset_url,
            f"{w.dataset_url}/metadata",
            "meta",
            metadata=json.dumps({"voltage_kv": 80}),
            reason="voltage added",
        ),
        _count(DatasetVersion),
        (302,),
    ),
    Action(
        "retire dataset",
        Permission.DATA_WRITE,
        lambda c, w: _form(
            c, w.dataset_url, f"{w.dataset_url}/retire", "retire", reason="duplicate", confirm="y"
        ),
        _count(Retirement),
        (302,),
    ),
    Action(
        "add note",
        Permission.NOTE_WRITE,
        lambda c, w: _form(c, w.dataset_url, f"{w.dataset_url}/notes", "note", body="checked"),
        _count(Note),
        (302,),
    ),
    Action(
        "write an analysis",
        Permission.ANALYSIS_WRITE,
        lambda c, w: _form(
            c, "/analyses/new", "/analyses", "", project_id=w.project_url[10:], title="Porosity"
        ),
        _count(Analysis),
        (302,),
    ),
    Action("view audit trail", Permission.AUDIT_REVIEW, lambda c, _w: c.get("/audit")),
    Action(
        "export audit trail",
        Permission.AUDIT_REVIEW,
        lambda c, _w: c.get("/audit/export.csv"),
        _events("audit.export"),
    ),
    Action("verify audit trail", Permission.AUDIT_REVIEW, lambda c, _w: c.get("/audit/verify")),
    Action("see users", Permission.USER_MANAGE, lambda c, _w: c.get("/admin/users")),
    Action(
        "create user",
        Permission.USER_MANAGE,
        lambda c, _w: _form(
            c,
            "/",
            "/admin/users",
            "create",
            username="newcomer",
            display_name="New Comer",
            roles="viewer",
            reason="joined the lab",
        ),
        _count(User),
    ),
]


# Processing permissions need prepared images and finished runs; they are exercised per role
# in tests/integration/runs (submit and replay refusals).
COVERED_BY_RUN_TESTS = {Permission.WORKFLOW_SUBMIT, Permission.RUN_REPLAY}
# Signing permissions: a refused signature is itself audited (P11-32), so they are exercised
# per role in tests/integration/signatures and tests/integration/analyses instead.
COVERED_BY_SIGNATURE_TESTS = {
    Permission.ANALYSIS_REVIEW,
    Permission.ANALYSIS_APPROVE,
    Permission.DATA_VERIFY,
}


def test_every_permission_has_an_action_in_the_matrix() -> None:
    covered = COVERED_BY_RUN_TESTS | COVERED_BY_SIGNATURE_TESTS
    assert {a.permission for a in ACTIONS} | covered == set(Permission)


@pytest.mark.req("P11-13", "P11-14", "DI-04")
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name.replace(" ", "-"))
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_role_action_matrix(
    app: Flask, uow: UnitOfWork, world: World, role: Role, action: Action
) -> None:
    make_user(uow, f"as-{role.value}", roles={role})
    client = app.test_client()
    assert log_in(client, f"as-{role.value}").status_code == 302
    allowed = action.permission in ROLE_PERMISSIONS[role]
    events_before = _count(AuditEvent)(uow)
    rows_before = action.adds(uow) if action.adds else None

    response = action.run(client, world)

    if allowed:
        assert response.status_code in action.ok, (role, action.name, response.status_code)
        if action.adds is not None:
            assert action.adds(uow) == rows_before + 1
    else:
        assert response.status_code == 403, (role, action.name, response.status_code)
        assert _count(AuditEvent)(uow) == events_before, "a refusal changes nothing"
        if action.adds is not None:
            assert action.adds(uow) == rows_before


@pytest.mark.req("P11-13")
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_pages_show_only_the_actions_a_role_may_take(
    app: Flask, uow: UnitOfWork, world: World, role: Role
) -> None:
    make_user(uow, f"as-{role.value}", roles={role})
    client = app.test_client()
    log_in(client, f"as-{role.value}")
    granted = ROLE_PERMISSIONS[role]
    dataset = client.get(world.dataset_url).get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)

    assert ("Add note" in dataset) == (Permission.NOTE_WRITE in granted)
    assert ("Amend metadata" in dataset) == (Permission.DATA_WRITE in granted)
    assert ("Retire dataset" in dataset) == (Permission.DATA_WRITE in granted)
    assert ("upload-form" in dataset) == (Permission.DATA_WRITE in granted)
    assert bool(_FILE_LINK.search(dataset)) == (Permission.DATA_DOWNLOAD in granted)
    assert ("Create project" in home) == (Permission.PROJECT_MANAGE in granted)
    assert ("Audit trail</a>" in home) == (Permission.AUDIT_REVIEW in granted)
    assert ("Users</a>" in home) == (Permission.USER_MANAGE in granted)


@pytest.mark.req("P11-06", "P11-13")
def test_a_member_of_project_a_sees_nothing_of_project_b(
    app: Flask, uow: UnitOfWork, world: World
) -> None:
    a_url = make_project(app.test_client(), "Project A")
    a_id = uuid.UUID(a_url.rsplit("/", 1)[1])
    make_user(uow, "member", roles=set(), project_roles={a_id: {Role.MICROSCOPIST}})
    client = app.test_client()
    assert log_in(client, "member").status_code == 302
    events_before = _count(AuditEvent)(uow)

    home = client.get("/").get_data(as_text=True)
    assert "Project A" in home
    assert world.project_url not in home
    b_pages = [world.project_url, world.sample_url, world.dataset_url, world.file_url]
    guesses = [f"/projects/{uuid.uuid4()}", f"/files/{uuid.uuid4()}"]
    for url in [*b_pages, *guesses]:
        response = client.get(url)
        assert response.status_code == 404, url
    note = _form(client, a_url, f"{world.dataset_url}/notes", "note", body="sneaky")
    assert note.status_code == 404
    status, _, _ = open_batch(client, world.sample_url)
    assert status == 404
    assert _count(Note)(uow) == 0
    assert _count(AuditEvent)(uow) == events_before
    # In their own project they work as a microscopist.
    sample = _form(client, a_url, f"{a_url}/samples", "", name="Cell A1")
    assert sample.status_code == 302
    assert _count(Dataset)(uow) == 1
