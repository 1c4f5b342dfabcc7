"""Schemathesis against a live instance: no server error, every answer as documented.

A threaded werkzeug server runs the real app on a migrated database of this module's own,
with a project, a sample and an ingested dataset, and a write-scope token of a
microscopist. Schemathesis reads ``/api/v1/openapi.json`` and sends generated requests, valid
and invalid, to every operation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from lims.auth.roles import Role
from lims.runtime.resources import Resources
from lims.services import tokens
from lims.services.catalogue import create_project, create_sample
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import as_project_admin, make_user, write_volume

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLES = 15


@dataclasses.dataclass(frozen=True)
class Seeded:
    """A write token of a microscopist, and the ids of a small catalogue it can see."""

    token: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def seeded(live_resources: Resources, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    with live_resources.unit_of_work() as uow:
        scientist = make_user(uow, "fuzz", roles={Role.MICROSCOPIST})
        ctx = live_resources.service_context(uow, scientist)
        project = create_project(as_project_admin(ctx), name="Battery")
        sample = create_sample(ctx, project_name="Battery", name="Cell 7")
        uow.commit()
        source = tmp_path_factory.mktemp("scan")
        write_volume(source / "a.raw", seed=1)
        version = ingest_path(
            ctx, IngestTarget("Battery", "Cell 7", "scan-001"), source, reason="acquired"
        )
        issued = tokens.create_token(ctx, name="schemathesis", scope="write", days=1)
        uow.commit()
        ids = {
            "project_id": str(project.id),
            "sample_id": str(sample.id),
            "dataset_id": str(version.dataset_id),
            "version_id": str(version.id),
            "file_id": str(version.files[0].id),
        }
        return Seeded(issued.secret, ids)


@pytest.fixture(scope="module")
def api_schema(live_server: str, seeded: Seeded) -> Any:
    headers = {"Authorization": f"Bearer {seeded.token}"}
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", headers=headers)
    schema.config.update(base_url=live_server, headers=headers)
    # Schema-valid but refused on meaning: a cursor the server never issued, or a time range
    # that ends before it starts, is a 400 (a 422 is for what does not fit the schema).
    schema.config.checks.positive_data_acceptance.expected_statuses = [
        "2xx",
        "400",
        "401",
        "403",
        "404",
        "409",
    ]
    return schema


def _fuzz(operation: Any, mode: GenerationMode, ids: dict[str, str]) -> str | None:
    """Run one operation's generated cases; the first failure's report, or None.

    Valid requests use the seeded records' ids in the path (random ones would only ever
    find nothing); invalid requests get generated paths too.
    """
    known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    fixed = {"path_parameters": known} if mode == GenerationMode.POSITIVE and known else {}

    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate()

    try:
        check()
    except Unsatisfiable:
        if mode != GenerationMode.NEGATIVE:
            raise
        return None  # nothing to get wrong: no parameters and no body
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label} ({mode}): {exc}"
    return None


@pytest.mark.req("P11-06")
def test_api_answers_as_documented(api_schema: Any, seeded: Seeded) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _fuzz(operation, mode, seeded.ids)) is not None
    ]
    assert not failures, "\n\n".join(failures)
