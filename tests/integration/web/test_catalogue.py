"""Projects and samples through the forms: CSRF, duplicates, pages."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lims.db.uow import UnitOfWork
from lims.models import Project, Sample
from tests.integration.web.conftest import csrf_token, make_project


def _count(uow: UnitOfWork, model: type) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _create_project(client: FlaskClient, name: str):
    token = csrf_token(client, "/")
    return client.post("/projects", data={"name": name, "description": "", "csrf_token": token})


@pytest.mark.req("A11-15")
def test_a_form_without_csrf_token_is_refused_and_creates_nothing(
    as_admin: FlaskClient, uow: UnitOfWork
) -> None:
    response = as_admin.post("/projects", data={"name": "Battery"})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert _count(uow, Project) == 0


def test_create_project_then_sample(
    as_admin: FlaskClient, logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    response = _create_project(as_admin, "Battery")
    assert response.status_code == 302
    project_url = response.location
    page = as_admin.get(project_url).get_data(as_text=True)
    assert "Project &#39;Battery&#39; created." in page
    assert "No samples in this project yet." in page
    assert "Create sample" not in page, "an administrator adds no records"

    token = csrf_token(logged_in, project_url)
    response = logged_in.post(
        f"{project_url}/samples", data={"name": "Cell 7", "description": "", "csrf_token": token}
    )
    assert response.status_code == 302
    sample_page = logged_in.get(response.location).get_data(as_text=True)
    assert "Cell 7" in sample_page
    assert "No datasets in this sample yet." in sample_page
    assert "Battery" in logged_in.get("/").get_data(as_text=True)
    assert "Cell 7" in logged_in.get(project_url).get_data(as_text=True)


def test_duplicate_project_name_is_a_clear_conflict(as_admin: FlaskClient, uow: UnitOfWork) -> None:
    assert _create_project(as_admin, "Battery").status_code == 302

    response = _create_project(as_admin, "battery")

    assert response.status_code == 409
    assert "a project named &#39;battery&#39; already exists" in response.get_data(as_text=True)
    assert _count(uow, Project) == 1


def test_duplicate_sample_name_is_a_clear_conflict(logged_in: FlaskClient, uow: UnitOfWork) -> None:
    project_url = make_project(logged_in, "Battery")
    for expected in (302, 409):
        token = csrf_token(logged_in, project_url)
        response = logged_in.post(
            f"{project_url}/samples", data={"name": "Cell 7", "csrf_token": token}
        )
        assert response.status_code == expected
    assert "already has a sample named" in response.get_data(as_text=True)
    assert _count(uow, Sample) == 1


def test_empty_name_is_refused(as_admin: FlaskClient, uow: UnitOfWork) -> None:
    response = _create_project(as_admin, "  ")
    assert response.status_code == 400
    assert "Name:" in response.get_data(as_text=True)
    assert _count(uow, Project) == 0
