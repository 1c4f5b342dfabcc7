"""Analyses: authored by a microscopist, reviewed and approved by two other people.

Review flow (each step is a signature through ``lims.services.signing.sign`` on the current
revision): draft → submitted (author signs *authored*) → reviewed (a reviewer signs) →
approved (QA signs). A rejection at review or approval (with a reason) sends the analysis
back: a new revision with the same content becomes the draft. Every revision is immutable;
editing a draft adds a revision. The author is told of each decision in the app and by mail.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_

from audit import EventDraft
from lims.auth.roles import Permission
from lims.errors import ConflictError, NotFoundError, PermissionDeniedError, UserError
from lims.models import (
    Analysis,
    AnalysisRevision,
    DatasetVersion,
    Project,
    Run,
    RunResult,
)
from lims.services.access import check_visible, project_id_of
from lims.services.context import ServiceContext
from signatures import records
from signatures.content import content_digest

TITLE_MAX = 300
TEXT_MAX = 100_000


def _now(ctx: ServiceContext) -> dt.datetime:
    moment: dt.datetime = ctx.uow.session.execute(select(func.now())).scalar_one()
    return moment


def _clean_text(title: str, purpose: str, results: str, conclusions: str) -> tuple[str, ...]:
    title = title.strip()
    if not title:
        raise UserError("an analysis needs a title")
    if len(title) > TITLE_MAX:
        raise UserError(f"the title is longer than {TITLE_MAX} characters")
    for name, value in (("purpose", purpose), ("results", results), ("conclusions", conclusions)):
        if len(value) > TEXT_MAX:
            raise UserError(f"the {name} is longer than {TEXT_MAX} characters")
    return title, purpose.strip(), results.strip(), conclusions.strip()


def _references(
    ctx: ServiceContext,
    project_id: uuid.UUID,
    dataset_versions: Sequence[uuid.UUID],
    runs: Sequence[uuid.UUID],
) -> tuple[list[str], list[str]]:
    session = ctx.uow.session
    for version_id in dataset_versions:
        if session.get(DatasetVersion, version_id) is None:
            raise UserError(f"no dataset version {version_id}")
        if project_id_of(session, "dataset_version", version_id) != project_id:
            raise UserError(f"dataset version {version_id} belongs to another project")
    for run_id in runs:
        run = session.get(Run, run_id)
        if run is None:
            raise UserError(f"no run {run_id}")
        if run.project_id != project_id:
            raise UserError(f"run {run_id} belongs to another project")
        result = session.get(RunResult, run_id)
        if result is None or result.status != "succeeded":
            raise UserError(f"run {run_id} has not succeeded; only finished runs can be cited")
    return list(dict.fromkeys(map(str, dataset_versions))), list(dict.fromkeys(map(str, runs)))


def _add_revision(
    ctx: ServiceContext,
    analysis: Analysis,
    *,
    number: int,
    texts: tuple[str, ...],
    dataset_versions: list[str],
    runs: list[str],
    reason: str,
) -> AnalysisRevision:
    identity = ctx.require_identity()
    title, purpose, results, conclusions = texts
    content = records.analysis_content(
        ctx.uow.session,
        analysis_id=analysis.id,
        revision=number,
        title=title,
        purpose=purpose,
        results=results,
        conclusions=conclusions,
        dataset_versions=dataset_versions,
        runs=runs,
        author_id=identity.user_id,
    )
    revision = AnalysisRevision(
        analysis_id=analysis.id,
        revision=number,
        title=title,
        purpose=purpose,
        results=results,
        conclusions=conclusions,
        dataset_versions=dataset_versions,
        runs=runs,
        author_id=identity.user_id,
        reason=reason,
        content_sha256=content_digest(content),
    )
    ctx.uow.session.add(revision)
    ctx.uow.session.flush()
    return revision


def create_analysis(
    ctx: ServiceContext,
    *,
    project_id: uuid.UUID,
    title: str,
    purpose: str = "",
    results: str = "",
    conclusions: str = "",
    dataset_versions: Sequence[uuid.UUID] = (),
    runs: Sequence[uuid.UUID] = (),
) -> Analysis:
    """Start a draft analysis in a project (microscopists); audited, not committed."""
    identity = ctx.require_identity()
    session = ctx.uow.session
    if session.get(Project, project_id) is None:
        raise NotFoundError("no such project")
    check_visible(ctx, project_id, "project")
    if not identity.can(Permission.ANALYSIS_WRITE, project_id):
        raise PermissionDeniedError("you are not allowed to author analyses in this project")
    texts = _clean_text(title, purpose, results, conclusions)
    versions, run_ids = _references(ctx, project_id, dataset_versions, runs)
    now = _now(ctx)
    analysis = Analysis(
        project_id=project_id,
        created_by_id=identity.user_id,
        status="draft",
        current_revision=1,
        updated_at=now,
    )
    session.add(analysis)
    session.flush()
    revision = _add_revision(
        ctx,
        analysis,
        number=1,
        texts=texts,
        dataset_versions=versions,
        runs=run_ids,
        reason="first draft",
    )
    ctx.audit(
        EventDraft(
            "analysis.create",
            "analysis",
            str(analysis.id),
            {"revision": 1, "title": texts[0], "content_sha256": revision.content_sha256},
        )
    )
    return analysis


def edit_analysis(
    ctx: ServiceContext,
    analysis_id: uuid.UUID,
    *,
    title: str,
    purpose: str,
    results: str,
    conclusions: str,
    dataset_versions: Sequence[uuid.UUID],
    runs: Sequence[uuid.UUID],
    reason: str = "edited",
) -> AnalysisRevision:
    """Save a new revision of a draft (its author only); audited, not committed."""
    identity = ctx.require_identity()
    analysis = _locked(ctx, analysis_id)
    if analysis.created_by_id != identity.user_id:
        raise PermissionDeniedError("only the author of an analysis may edit it")
    if not identity.can(Permission.ANALYSIS_WRITE, analysis.project_id):
        raise PermissionDeniedError("you are not allowed to author analyses in this project")
    if analysis.status != "draft":
        raise ConflictError(f"this analysis is {analysis.status}; only a draft can be edited")
    texts = _clean_text(title, purpose, results, conclusions)
    versions, run_ids = _references(ctx, analysis.project_id, dataset_versions, runs)
    old = current_revision(ctx, analysis)
    if (old.title, old.purpose, old.results, old.conclusions) == texts and (
        list(old.dataset_versions),
        list(old.runs),
    ) == (versions, run_ids):
        raise UserError("nothing changed")
    number = analysis.current_revision + 1
    revision = _add_revision(
        ctx,
        analysis,
        number=number,
        texts=texts,
        dataset_versions=versions,
        runs=run_ids,
        reason=reason.strip() or "edited",
    )
    analysis.current_revision = number
    analysis.updated_at = _now(ctx)
    ctx.audit(
        EventDraft(
            "analysis.revise",
            "analysis",
            str(analysis.id),
            {
                "revision": [number - 1, number],
                "content_sha256": [old.content_sha256, revision.content_sha256],
            },
            reason=revision.reason,
        )
    )
    return revision


def _locked(ctx: ServiceContext, analysis_id: uuid.UUID) -> Analysis:
    analysis = ctx.uow.session.scalars(
        select(Analysis).where(Analysis.id == analysis_id).with_for_update()
    ).first()
    if analysis is None:
        raise NotFoundError("no such analysis")
    check_visible(ctx, analysis.project_id, "analysis")
    return analysis


def get_analysis(ctx: ServiceContext, analysis_id: uuid.UUID) -> Analysis:
    """An analysis the caller may see."""
    analysis = ctx.uow.session.get(Analysis, analysis_id)
    if analysis is None:
        raise NotFoundError("no such analysis")
    check_visible(ctx, analysis.project_id, "analysis")
    return analysis


def current_revision(ctx: ServiceContext, analysis: Analysis) -> AnalysisRevision:
    """The revision under review (or being drafted)."""
    return ctx.uow.session.scalars(
        select(AnalysisRevision).where(
            AnalysisRevision.analysis_id == analysis.id,
            AnalysisRevision.revision == analysis.current_revision,
        )
    ).one()


def revision_of(ctx: ServiceContext, revision_id: uuid.UUID) -> AnalysisRevision:
    """One revision the caller may see."""
    revision = ctx.uow.session.get(AnalysisRevision, revision_id)
    if revision is None:
        raise NotFoundError("no such analysis revision")
    get_analysis(ctx, revision.analysis_id)
    return revision


def list_analyses(
    ctx: ServiceContext,
    *,
    limit: int = 200,
    before: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[Analysis]:
    """Analyses the caller can see, most recently changed first.

    ``before`` is the (updated_at, id) of the last analysis of the previous page.
    """
    identity = ctx.require_identity()
    query = select(Analysis)
    if not identity.sees_all_projects():
        query = query.where(Analysis.project_id.in_(identity.visible_project_ids()))
    if before is not None:
        query = query.where(tuple_(Analysis.updated_at, Analysis.id) < tuple_(*before))
    query = query.order_by(Analysis.updated_at.desc(), Analysis.id.desc())
    return list(ctx.uow.session.scalars(query.limit(limit)))
