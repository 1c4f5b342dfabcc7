"""The API reads the catalogue, runs and workflows through the services, as JSON."""

from __future__ import annotations

import hashlib

import pytest

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.runtime.resources import Resources
from lims.services import changes
from tests.integration.api.conftest import Api, Catalogue


@pytest.mark.req("A11-11")
def test_walk_the_catalogue_from_projects_to_file_bytes(api: Api, catalogue: Catalogue) -> None:
    projects = api.get("/api/v1/projects")
    assert projects.status_code == 200
    names = [p["name"] for p in projects.get_json()["items"]]
    assert names == ["Battery", "Secret alloy"]
    battery = projects.get_json()["items"][0]
    assert battery["id"] == str(catalogue.project_id)

    samples = api.get(battery["samples_url"]).get_json()
    assert [s["name"] for s in samples["items"]] == ["Cell 7"]
    assert samples["next_cursor"] is None

    datasets = api.get(samples["items"][0]["datasets_url"]).get_json()["items"]
    assert [d["name"] for d in datasets] == ["scan-001"]
    latest = datasets[0]["latest_version"]
    assert latest["number"] == 1
    assert latest["reason"] == "acquired on Zeiss Versa"
    assert latest["metadata"]["instrument"] == "Zeiss Versa 620"
    assert latest["author"] == "Marie Curie (mcurie)"

    dataset = api.get(datasets[0]["url"]).get_json()
    assert dataset["version_count"] == 1
    versions = api.get(dataset["versions_url"]).get_json()["items"]
    assert [v["id"] for v in versions] == [str(catalogue.version.id)]
    assert api.get(versions[0]["url"]).get_json()["manifest_sha256"] == (
        catalogue.version.manifest_sha256
    )

    files = api.get(versions[0]["files_url"]).get_json()["items"]
    assert [f["path"] for f in files] == ["scan.log", "slices/a.raw"]
    log = files[0]
    content = api.get(log["download_url"])
    assert content.status_code == 200
    assert content.data == b"kV=80\n"
    assert hashlib.sha256(content.data).hexdigest() == log["sha256"]
    assert content.headers["X-Content-SHA256"] == log["sha256"]
    part = api.client.get(log["download_url"], headers={**api.headers(), "Range": "bytes=0-1"})
    assert part.status_code == 206
    assert part.data == b"kV"


@pytest.mark.req("A11-11")
def test_one_project_and_sample_by_id(api: Api, catalogue: Catalogue) -> None:
    project = api.get(f"/api/v1/projects/{catalogue.project_id}")
    assert project.status_code == 200
    assert project.get_json()["description"] == "cells"
    sample = api.get(f"/api/v1/samples/{catalogue.sample_id}").get_json()
    assert sample["project_id"] == str(catalogue.project_id)


def test_whoami_names_the_token_owner(api: Api, scientist: Identity) -> None:
    me = api.get("/api/v1/whoami").get_json()
    assert me["username"] == scientist.username
    assert me["roles"] == ["microscopist"]


def test_workflows_and_runs_lists_answer_json(api: Api) -> None:
    workflows = api.get("/api/v1/workflows", all_versions="true")
    assert workflows.status_code == 200, workflows.get_data(as_text=True)
    assert workflows.get_json() == {"items": [], "next_cursor": None}
    runs = api.get("/api/v1/runs", status="queued")
    assert runs.status_code == 200
    assert runs.get_json()["items"] == []


def test_notes_added_and_listed(api: Api, catalogue: Catalogue) -> None:
    added = api.post(
        "/api/v1/notes",
        json={"object_type": "sample", "object_id": str(catalogue.sample_id), "body": "cracked"},
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    listed = api.get(
        "/api/v1/notes", object_type="sample", object_id=str(catalogue.sample_id)
    ).get_json()
    assert [n["body"] for n in listed["items"]] == ["cracked"]


def test_retired_records_say_so(
    api: Api, catalogue: Catalogue, resources: Resources, uow: UnitOfWork, scientist: Identity
) -> None:
    sample_url = f"/api/v1/samples/{catalogue.sample_id}"
    assert api.get(sample_url).get_json()["retired"] is False
    changes.retire(
        resources.service_context(uow, scientist),
        "sample",
        catalogue.sample_id,
        reason="cell destroyed in test",
    )
    uow.commit()
    assert api.get(sample_url).get_json()["retired"] is True
    listed = api.get(f"/api/v1/projects/{catalogue.project_id}/samples").get_json()["items"]
    assert [(s["name"], s["retired"]) for s in listed] == [("Cell 7", True)]
    project = api.get(f"/api/v1/projects/{catalogue.project_id}").get_json()
    assert project["retired"] is False


@pytest.mark.req("A11-11")
def test_a_records_history_for_anyone_who_sees_it(
    api: Api,
    api_for,
    outsider: Identity,
    catalogue: Catalogue,  # type: ignore[no-untyped-def]
) -> None:
    params = {"object_type": "sample", "object_id": str(catalogue.sample_id)}
    history = api.get("/api/v1/history", **params)
    assert history.status_code == 200, history.get_data(as_text=True)
    events = history.get_json()["items"]
    assert events[0]["action"] == "sample.create"
    assert events[0]["changes"]["name"] == [None, "Cell 7"]
    assert events[0]["actor_name"] == "Marie Curie (mcurie)"
    hidden = api_for(outsider).get("/api/v1/history", **params)
    assert hidden.status_code == 404
