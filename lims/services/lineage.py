"""Lineage of a dataset: the runs that made it and the runs (and outputs) made from it."""

from __future__ import annotations

import dataclasses
import json
import uuid

from sqlalchemy import cast, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from lims.models import Dataset, Run
from lims.services.catalogue import get_dataset
from lims.services.context import ServiceContext
from lims.services.search import visible_projects


@dataclasses.dataclass(frozen=True, slots=True)
class LineageRun:
    """A run with the datasets on either side of it (only those the caller may see)."""

    run: Run
    inputs: tuple[Dataset, ...]
    outputs: tuple[Dataset, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Lineage:
    """Where a dataset came from and what was made from it."""

    dataset: Dataset
    made_by: tuple[LineageRun, ...]
    used_by: tuple[LineageRun, ...]


def _ids(entries: list[dict[str, object]]) -> list[uuid.UUID]:
    found = []
    for entry in entries:
        try:
            found.append(uuid.UUID(str(entry.get("dataset_id"))))
        except ValueError:
            continue
    return found


def lineage_of(ctx: ServiceContext, dataset_id: uuid.UUID) -> Lineage:
    """The runs that produced any version of the dataset, and the runs that read it.

    Raises:
        NotFoundError: no such dataset (or not visible).
    """
    dataset = get_dataset(ctx, dataset_id)
    session = ctx.uow.session
    made_ids = {
        uuid.UUID(str(v.metadata_["run_id"]))
        for v in dataset.versions
        if isinstance(v.metadata_.get("run_id"), str) and len(v.metadata_["run_id"]) == 36  # noqa: PLR2004
    }
    made = list(session.scalars(select(Run).where(Run.id.in_(made_ids)))) if made_ids else []
    used = list(
        session.scalars(
            select(Run)
            .where(
                Run.inputs.op("@>")(
                    cast(literal(json.dumps([{"dataset_id": str(dataset_id)}])), JSONB)
                )
            )
            .order_by(Run.created_at)
            .limit(50)
        )
    )
    visible = visible_projects(ctx.require_identity())

    def datasets(ids: list[uuid.UUID]) -> tuple[Dataset, ...]:
        if not ids:
            return ()
        rows = session.scalars(select(Dataset).where(Dataset.id.in_(ids)))
        return tuple(d for d in rows if visible is None or d.sample.project_id in visible)

    def node(run: Run) -> LineageRun:
        outputs = run.result.outputs if run.result is not None else []
        return LineageRun(run, datasets(_ids(run.inputs)), datasets(_ids(outputs)))

    return Lineage(dataset, tuple(node(r) for r in made), tuple(node(r) for r in used))
