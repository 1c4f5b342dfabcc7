"""A small catalogue to search: two projects, datasets with realistic metadata, notes, tags."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.runtime.resources import Resources
from lims.services import catalogue, changes, tags
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.factories import as_project_admin, make_user


@dataclasses.dataclass
class Catalogue:
    """Ids of what the fixture made."""

    bone: uuid.UUID
    battery: uuid.UUID
    femur: uuid.UUID
    tibia: uuid.UUID
    cell: uuid.UUID
    datasets: dict[str, uuid.UUID]


def ingest(
    ctx: ServiceContext,
    tmp_path: Path,
    target: IngestTarget,
    files: dict[str, bytes],
    metadata: dict[str, Any],
) -> uuid.UUID:
    folder = tmp_path / uuid.uuid4().hex
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    version = ingest_path(ctx, target, folder, reason="acquired", metadata=metadata)
    return version.dataset_id


@pytest.fixture
def data(ctx: ServiceContext, tmp_path: Path) -> Catalogue:
    boss = as_project_admin(ctx)
    bone = catalogue.create_project(boss, name="Bone study", description="Femur and tibia scans")
    battery = catalogue.create_project(boss, name="Battery ageing")
    femur = catalogue.create_sample(ctx, project_name="Bone study", name="FEM-012")
    tibia = catalogue.create_sample(ctx, project_name="Bone study", name="TIB-007")
    cell = catalogue.create_sample(ctx, project_name="Battery ageing", name="Cell 7")
    ctx.uow.commit()
    made = {
        "femur_raw": ingest(
            ctx,
            tmp_path,
            IngestTarget("Bone study", "FEM-012", "femur raw scan"),
            {"recon/slice_0001.tif": b"a", "recon/slice_0002.tif": b"b", "scan.log": b"c"},
            {
                "modality": "CT volume",
                "instrument": "Zeiss Versa 620",
                "operator": "Marie Curie",
                "acquired_at": "2025-03-02T10:00:00Z",
                "voltage_kv": 80,
                "filter": "LE3",
            },
        ),
        "tibia_raw": ingest(
            ctx,
            tmp_path,
            IngestTarget("Bone study", "TIB-007", "tibia overview"),
            {"overview.png": b"d"},
            {
                "modality": "2D mosaic",
                "instrument": "Bruker SkyScan 1272",
                "operator": "Pierre Curie",
                "acquired_at": "2025-05-20",
            },
        ),
        "cell_ct": ingest(
            ctx,
            tmp_path,
            IngestTarget("Battery ageing", "Cell 7", "cell 7 cycle 100"),
            {"cell7_cycle100.nrrd": b"e"},
            {
                "modality": "CT volume",
                "instrument": "Zeiss Versa 620",
                "operator": "Marie Curie",
                "acquired_at": "2024-11-01",
                "electrolyte": "LiPF6 in EC/DMC",
            },
        ),
    }
    changes.add_note(ctx, "dataset", made["femur_raw"], "Crack visible near the condyle.")
    tags.add_tag(ctx, made["tibia_raw"], "Reference")
    ctx.uow.commit()
    return Catalogue(bone.id, battery.id, femur.id, tibia.id, cell.id, made)


@pytest.fixture
def outsider(resources: Resources, uow: UnitOfWork, data: Catalogue) -> ServiceContext:
    """A viewer of the battery project only."""
    identity = make_user(uow, "collab", roles=set(), project_roles={data.battery: {Role.VIEWER}})
    return resources.service_context(uow, identity)


@pytest.fixture
def auditor(resources: Resources, uow: UnitOfWork) -> ServiceContext:
    identity: Identity = make_user(uow, "inspector", roles={Role.AUDITOR})
    return resources.service_context(uow, identity)


from tests.integration.web.conftest import app, client, logged_in  # noqa: E402, F401 - fixtures
