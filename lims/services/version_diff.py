"""A field-by-field comparison of two versions of one dataset: facts, metadata and files."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

from lims.errors import NotFoundError, UserError
from lims.models import DatasetVersion
from lims.services.catalogue import get_dataset
from lims.services.context import ServiceContext


@dataclasses.dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs (or not) between the two versions; None means absent."""

    field: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        """added, removed, changed or same."""
        if self.old == self.new:
            return "same"
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


@dataclasses.dataclass(frozen=True, slots=True)
class VersionDiff:
    """Two versions and what differs: facts, metadata (flattened keys) and files by path."""

    old: DatasetVersion
    new: DatasetVersion
    facts: tuple[FieldChange, ...]
    metadata: tuple[FieldChange, ...]
    files: tuple[FieldChange, ...]

    @property
    def is_identical_content(self) -> bool:
        """True when metadata and files are the same."""
        return all(c.kind == "same" for c in (*self.metadata, *self.files))


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:  # noqa: ANN401
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        yield prefix or "(value)", text


def _changes(old: dict[str, str], new: dict[str, str]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)))


def diff_versions(
    ctx: ServiceContext, dataset_id: uuid.UUID, old_number: int, new_number: int
) -> VersionDiff:
    """Compare version ``old_number`` with version ``new_number`` of a dataset.

    Raises:
        NotFoundError: no such dataset (or not visible), or no such version number.
        UserError: the two numbers are the same.
    """
    dataset = get_dataset(ctx, dataset_id)
    if old_number == new_number:
        raise UserError("choose two different versions to compare")
    by_number = {v.number: v for v in dataset.versions}
    missing = [n for n in (old_number, new_number) if n not in by_number]
    if missing:
        raise NotFoundError(f"the dataset has no version {missing[0]}")
    old, new = by_number[old_number], by_number[new_number]

    def facts(v: DatasetVersion) -> dict[str, str]:
        return {
            "author": f"{v.author.display_name} ({v.author.username})",
            "reason": v.reason,
            "committed": v.created_at.isoformat(),
            "files": str(len(v.files)),
            "total bytes": str(v.total_bytes),
            "manifest SHA-256": v.manifest_sha256,
        }

    def files(v: DatasetVersion) -> dict[str, str]:
        return {f.path: f"{f.blob_sha256} ({f.size_bytes} bytes)" for f in v.files}

    return VersionDiff(
        old,
        new,
        _changes(facts(old), facts(new)),
        _changes(dict(_flatten(old.metadata_)), dict(_flatten(new.metadata_))),
        _changes(files(old), files(new)),
    )
