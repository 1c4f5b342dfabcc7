"""Analyses with their immutable revisions, and the signatures of records (read only).

Signatures are read through the record they sign, after that record's own access check;
each is verified now (``status`` valid, withdrawn or broken, with the problems). Signing
and withdrawing a signature need the person and their password, never a token: there is
no signing endpoint.
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Response, url_for
from pydantic import BaseModel, Field

from lims.models import Analysis, AnalysisRevision, SignatureWithdrawal
from lims.services import analyses, catalogue, runs, signing
from lims.web import context
from lims.web.api.pagination import PageQuery, page_of, time_id_after, time_id_key
from lims.web.api.parsing import parse_query, render
from lims.web.api.routing import operation
from lims.web.api.schemas import Page
from signatures.verify import Verdict

TAG = "analyses and signatures"
# list_analyses reads most recently changed first with a bound; the API pages within it.


class RevisionOut(BaseModel):
    """One immutable state of an analysis's content (what signers attest to)."""

    id: uuid.UUID
    revision: int
    title: str
    purpose: str
    results: str
    conclusions: str
    dataset_versions: list[str]
    runs: list[str]
    author_id: uuid.UUID
    reason: str
    content_sha256: str
    created_at: dt.datetime

    @classmethod
    def of(cls, revision: AnalysisRevision) -> RevisionOut:
        """The API view of a revision."""
        return cls.model_validate(revision, from_attributes=True)


class AnalysisOut(BaseModel):
    """An analysis: where it stands in review, and every revision (the current one last)."""

    id: uuid.UUID
    project_id: uuid.UUID
    created_by_id: uuid.UUID
    status: str
    current_revision: int
    updated_at: dt.datetime
    created_at: dt.datetime
    revisions: list[RevisionOut]
    url: str
    signatures_url: str

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisOut:
        """The API view of an analysis."""
        return cls(
            id=analysis.id,
            project_id=analysis.project_id,
            created_by_id=analysis.created_by_id,
            status=analysis.status,
            current_revision=analysis.current_revision,
            updated_at=analysis.updated_at,
            created_at=analysis.created_at,
            revisions=[RevisionOut.of(r) for r in analysis.revisions],
            url=url_for("api.get_analysis", analysis_id=analysis.id),
            signatures_url=url_for("api.analysis_signatures", analysis_id=analysis.id),
        )


class WithdrawalOut(BaseModel):
    """Its signer's withdrawal of a signature: who, when (UTC) and why."""

    withdrawn_by_id: uuid.UUID
    printed_name: str
    withdrawn_at: dt.datetime
    reason: str

    @classmethod
    def of(cls, row: SignatureWithdrawal) -> WithdrawalOut:
        """The API view of a withdrawal."""
        return cls(
            withdrawn_by_id=row.withdrawn_by_id,
            printed_name=row.printed_name,
            withdrawn_at=row.withdrawn_at,
            reason=row.reason,
        )


class SignatureOut(BaseModel):
    """A signature: printed name, UTC time and meaning, bound to the signed content's digest."""

    id: uuid.UUID
    record_type: str
    record_id: str
    content_sha256: str
    meaning: str
    reason: str
    signer_id: uuid.UUID
    signer_username: str
    printed_name: str
    signed_at: dt.datetime
    key_id: str
    status: str = Field(description="valid, withdrawn (by its signer; no longer counts) or broken")
    problems: list[str]
    withdrawal: WithdrawalOut | None = None

    @classmethod
    def of(cls, verdict: Verdict) -> SignatureOut:
        """The API view of a signature, verified now."""
        row = verdict.signature
        return cls(
            id=row.id,
            record_type=row.record_type,
            record_id=row.record_id,
            content_sha256=row.content_sha256,
            meaning=row.meaning,
            reason=row.reason,
            signer_id=row.signer_id,
            signer_username=row.signer_username,
            printed_name=row.printed_name,
            signed_at=row.signed_at,
            key_id=row.key_id,
            status=verdict.status,
            problems=list(verdict.problems),
            withdrawal=None if verdict.withdrawal is None else WithdrawalOut.of(verdict.withdrawal),
        )


class Signatures(BaseModel):
    """A record's signatures, oldest first, each verified now."""

    items: list[SignatureOut]


def _signatures(verdicts: list[Verdict]) -> Response:
    return render(Signatures(items=[SignatureOut.of(v) for v in verdicts]))


@operation("/analyses", tag=TAG, response=Page[AnalysisOut], query=PageQuery, errors=(400, 422))
def list_analyses() -> Response:
    """Analyses you may see, most recently changed first."""
    page = parse_query(PageQuery)
    found = analyses.list_analyses(
        context.service_context(),
        limit=page.limit + 1,
        before=time_id_after(page, "analyses"),
    )
    items, cursor = page_of(found, lambda a: time_id_key(a.updated_at, a.id), page, "analyses")
    return render(Page[AnalysisOut](items=[AnalysisOut.of(a) for a in items], next_cursor=cursor))


@operation("/analyses/<uuid:analysis_id>", tag=TAG, response=AnalysisOut, errors=(404,))
def get_analysis(analysis_id: uuid.UUID) -> Response:
    """One analysis with its revisions."""
    return render(AnalysisOut.of(analyses.get_analysis(context.service_context(), analysis_id)))


@operation("/analyses/<uuid:analysis_id>/signatures", tag=TAG, response=Signatures, errors=(404,))
def analysis_signatures(analysis_id: uuid.UUID) -> Response:
    """The signatures of every revision of an analysis, verified now."""
    ctx = context.service_context()
    analysis = analyses.get_analysis(ctx, analysis_id)
    return _signatures(
        [
            verdict
            for revision in analysis.revisions
            for verdict in signing.record_signatures(ctx, "analysis", str(revision.id))
        ]
    )


@operation("/versions/<uuid:version_id>/signatures", tag=TAG, response=Signatures, errors=(404,))
def version_signatures(version_id: uuid.UUID) -> Response:
    """The signatures of a dataset version (e.g. verified acquisition), verified now."""
    ctx = context.service_context()
    version = catalogue.get_version(ctx, version_id)
    return _signatures(signing.record_signatures(ctx, "dataset_version", str(version.id)))


@operation("/runs/<uuid:run_id>/signatures", tag=TAG, response=Signatures, errors=(404,))
def run_signatures(run_id: uuid.UUID) -> Response:
    """The signatures of a run (reviewed, approved), verified now."""
    ctx = context.service_context()
    view = runs.get_run(ctx, run_id)
    return _signatures(signing.record_signatures(ctx, "run", str(view.run.id)))
