"""RQ entry points of reports: thin, idempotent, string ids in."""

from __future__ import annotations

import uuid

from processing import context
from reports.generation import generate_report as _generate

JOB_TIMEOUT_S = 3600


def generate_report(request_id: str) -> str:
    """Render, seal and file one requested report; safe to run twice."""
    return _generate(context.resources(), uuid.UUID(request_id))


def job_id(request_id: uuid.UUID) -> str:
    """The RQ job id of a report request (one per request)."""
    return f"report-{request_id}"
