"""RQ entry points: thin, idempotent, string ids in; all logic lives below them."""

from __future__ import annotations

import uuid

from processing import context, execution, replay
from processing.preparation import prepare


def prepare_version(version_id: str) -> str:
    """Build the canonical array and previews of one version; safe to run twice."""
    return prepare(context.resources(), uuid.UUID(version_id))


def execute_run(run_id: str) -> str:
    """Execute one submitted run to its end; safe to run twice (the run is claimed)."""
    return execution.execute_run(context.resources(), uuid.UUID(run_id))


def replay_run(run_id: str) -> str:
    """Execute one submitted replay and compare it with the original; safe to run twice."""
    return replay.execute_replay(context.resources(), uuid.UUID(run_id))
