"""The other signable records: dataset versions (verified), runs, and analyses citing runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from lims.auth.roles import Role
from lims.errors import ConflictError, PermissionDeniedError
from lims.models import DatasetVersion, Project
from lims.services import analyses, runs, signing, workflows
from lims.services.context import ServiceContext
from signatures.records import run_content
from tests.factories import make_user
from tests.integration.runs.conftest import (  # noqa: F401 - fixture
    OTSU_LABEL_PARTICLES,
    ingest_volume,
    two_spheres,
)
from tests.integration.signatures.conftest import PASSWORD, Lab


@pytest.mark.req("P11-20", "P11-14")
def test_a_dataset_version_is_verified_by_someone_other_than_its_author(lab: Lab) -> None:
    version = str(lab.version.id)
    with pytest.raises(PermissionDeniedError, match="author of a dataset version"):
        signing.sign(lab.ctx(lab.author), "dataset_version", version, "verified", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="not allowed to verify"):
        signing.sign(lab.ctx(lab.admin), "dataset_version", version, "verified", PASSWORD)
    row = signing.sign(lab.ctx(lab.reviewer), "dataset_version", version, "verified", PASSWORD)
    assert row.meaning == "verified"
    with pytest.raises(ConflictError, match="already signed"):
        signing.sign(lab.ctx(lab.reviewer), "dataset_version", version, "verified", PASSWORD)
    assert signing.allowed_meanings(lab.ctx(lab.qa), "dataset_version", version) == ["verified"]
    assert signing.allowed_meanings(lab.ctx(lab.author), "dataset_version", version) == []
    [verdict] = signing.record_signatures(lab.ctx(lab.qa), "dataset_version", version)
    assert verdict.ok


@pytest.mark.req("P11-20", "P11-22", "A11-18")
def test_a_run_is_reviewed_then_approved_and_an_analysis_cites_it(
    ctx: ServiceContext,
    worker: SimpleWorker,
    ingest_volume: Callable[..., DatasetVersion],  # noqa: F811 - fixture
) -> None:
    source = ingest_volume(two_spheres())
    workflow = workflows.create_workflow(ctx, name="Particles", steps=OTSU_LABEL_PARTICLES)
    run = runs.submit(ctx, workflow.id, source.id)
    ctx.uow.commit()
    reviewer = make_user(ctx.uow, "rfeynman", display_name="Richard Feynman", roles={Role.REVIEWER})
    qa = make_user(ctx.uow, "lmeitner", display_name="Lise Meitner", roles={Role.REVIEWER})
    review_ctx = dataclasses.replace(ctx, identity=reviewer)
    qa_ctx = dataclasses.replace(ctx, identity=qa)
    with pytest.raises(ConflictError, match="only once it has finished"):
        signing.sign(review_ctx, "run", str(run.id), "reviewed", PASSWORD)
    project_id = ctx.uow.session.scalars(select(Project.id).where(Project.name == "Research")).one()
    with pytest.raises(Exception, match="has not succeeded"):
        analyses.create_analysis(ctx, project_id=project_id, title="Too early", runs=[run.id])
    ctx.uow.rollback()

    worker.work(burst=True)
    ctx.uow.session.expire_all()
    with pytest.raises(PermissionDeniedError, match="not allowed to sign a run"):
        signing.sign(ctx, "run", str(run.id), "reviewed", PASSWORD)
    with pytest.raises(ConflictError, match="only after it has been reviewed"):
        signing.sign(qa_ctx, "run", str(run.id), "approved", PASSWORD)
    signing.sign(review_ctx, "run", str(run.id), "reviewed", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="reviewer of a run"):
        signing.sign(review_ctx, "run", str(run.id), "approved", PASSWORD)
    signing.sign(qa_ctx, "run", str(run.id), "approved", PASSWORD)
    verdicts = signing.record_signatures(qa_ctx, "run", str(run.id))
    assert [(v.signature.meaning, v.ok) for v in verdicts] == [
        ("reviewed", True),
        ("approved", True),
    ]

    analysis = analyses.create_analysis(
        ctx,
        project_id=project_id,
        title="Two particles",
        results="2 particles",
        dataset_versions=[source.id],
        runs=[run.id],
    )
    ctx.uow.commit()
    revision = analyses.current_revision(ctx, analysis)
    record = signing.preview(ctx, "analysis", str(revision.id))
    assert record.digest == revision.content_sha256
    [cited] = record.content["runs"]
    assert cited == run_content(ctx.uow.session, run)
    assert cited["outputs"][0]["array_digest"]
    [version] = record.content["dataset_versions"]
    assert version["files"][0]["sha256"] == source.files[0].blob_sha256
