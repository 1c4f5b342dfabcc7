"""Signature fixtures: an author, two reviewers (review and QA), a project with one version."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lims.auth.identity import Identity
from lims.auth.roles import Role
from lims.db.uow import UnitOfWork
from lims.models import Analysis, DatasetVersion, Project
from lims.runtime.resources import Resources
from lims.services import analyses
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from tests.conftest import as_owner
from tests.factories import DEFAULT_PASSWORD, make_sample, make_user, write_volume

PASSWORD = DEFAULT_PASSWORD


@dataclasses.dataclass
class Lab:
    """The people and records of a signing test."""

    resources: Resources
    uow: UnitOfWork
    author: Identity
    reviewer: Identity
    qa: Identity
    admin: Identity
    project_id: uuid.UUID
    version: DatasetVersion

    def ctx(self, who: Identity) -> ServiceContext:
        return self.resources.service_context(self.uow, who)

    def draft(self, title: str = "Porosity of cell 7") -> Analysis:
        analysis = analyses.create_analysis(
            self.ctx(self.author),
            project_id=self.project_id,
            title=title,
            purpose="Measure porosity",
            results="Porosity 12.5 %",
            conclusions="Within specification",
            dataset_versions=[self.version.id],
        )
        self.uow.commit()
        return analysis

    def revision_id(self, analysis: Analysis) -> str:
        return str(analyses.current_revision(self.ctx(self.author), analysis).id)


def assert_refused_for_app_and_owner(session: Session, statements: Sequence[str]) -> None:
    """Each statement fails for the application role (no privilege) and the owner (trigger)."""
    for statement in statements:
        with pytest.raises(DBAPIError, match="permission denied"), session.begin_nested():
            session.execute(text(statement))
        with (
            as_owner(session),
            pytest.raises(DBAPIError, match=r"append-only|immutable|refuse"),
            session.begin_nested(),
        ):
            session.execute(text(statement))


def build_lab(resources: Resources, uow: UnitOfWork, author: Identity, folder: Path) -> Lab:
    """Project Battery / Cell 7 with one ingested version; a reviewer, QA and an admin."""
    ctx = resources.service_context(uow, author)
    make_sample(ctx, "Battery", "Cell 7")
    version = ingest_path(
        ctx,
        IngestTarget(project="Battery", sample="Cell 7", dataset="scan-001"),
        write_volume(folder / "scan" / "a.raw"),
        reason="acquired on Zeiss Versa",
    )
    project_id = uow.session.scalars(select(Project.id).where(Project.name == "Battery")).one()
    reviewer = make_user(
        uow, "rfeynman", display_name="Richard Feynman", roles={Role.REVIEWER}, email="rf@lab"
    )
    qa = make_user(uow, "lmeitner", display_name="Lise Meitner", roles={Role.REVIEWER})
    admin = make_user(uow, "root", display_name="Ada Admin", roles={Role.ADMIN})
    return Lab(resources, uow, author, reviewer, qa, admin, project_id, version)


@pytest.fixture
def lab(resources: Resources, uow: UnitOfWork, scientist: Identity, tmp_path: Path) -> Lab:
    return build_lab(resources, uow, scientist, tmp_path)
