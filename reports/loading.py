"""Read the records a report shows into plain values (the only module of reports/ with SQL).

Renderers under ``reports.render`` never query; the worker calls these loaders inside its
unit of work, then renders from what they return.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.chain import format_time
from audit.checkpoints import stored_checkpoints
from audit.keys import load_or_create_private_key
from audit.query import AuditFilter, history, iter_events
from audit.verify import verify_chain
from lims.errors import NotFoundError
from lims.models import DatasetVersion, VersionDerivative
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from reports.content import (
    AuditTrailReport,
    DatasetReport,
    FileLine,
    LineageLine,
    Picture,
    ReportMeta,
    SignatureLine,
)
from reports.signers import signature_lines


@dataclasses.dataclass(frozen=True, slots=True)
class Stamp:
    """What every report of one request shares: its id, lab, time and requester."""

    report_id: str
    lab_name: str
    generated_at: str
    generated_by: str
    logo_png: bytes | None = None

    def meta(self, **fields: Any) -> ReportMeta:  # noqa: ANN401 - ReportMeta's fields
        """The report's meta data with the record-specific fields filled in."""
        return ReportMeta(
            report_id=self.report_id,
            lab_name=self.lab_name,
            generated_at=self.generated_at,
            generated_by=self.generated_by,
            logo_png=self.logo_png,
            **fields,
        )


def _metadata_lines(metadata: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for key, value in sorted(metadata.items()):
        if isinstance(value, dict):
            lines.extend(_metadata_lines(value, f"{prefix}{key}."))
        else:
            lines.append((f"{prefix}{key}", str(value)))
    return lines


def _lineage(version: DatasetVersion) -> list[LineageLine]:
    chain: list[DatasetVersion] = []
    by_id = {v.id: v for v in version.dataset.versions}
    current: DatasetVersion | None = version
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return [
        LineageLine(v.number, str(v.id), v.author.display_name, format_time(v.created_at), v.reason)
        for v in reversed(chain)
    ]


def _preview(session: Session, store: BlobStore, version_id: uuid.UUID) -> Picture | None:
    derived = {
        d.kind: d
        for d in session.scalars(
            select(VersionDerivative).where(VersionDerivative.version_id == version_id)
        )
    }
    thumbnail, canonical = derived.get("thumbnail"), derived.get("canonical")
    if thumbnail is None:
        return None
    with store.open(thumbnail.blob_sha256) as handle:
        png = handle.read()
    pixel_size, unit = None, ""
    if canonical is not None:
        attributes = canonical.attributes
        voxel, full = attributes.get("voxel_size"), attributes.get("shape")
        if voxel and full:
            with Image.open(io.BytesIO(png)) as image:
                width = image.width
            pixel_size = float(voxel[-1]) * int(full[-1]) / width
            unit = str(attributes.get("unit") or "")
    return Picture("Central slice (thumbnail)", png, pixel_size, unit)


def load_dataset(
    session: Session, store: BlobStore, stamp: Stamp, version_id: uuid.UUID
) -> DatasetReport:
    """A dataset version as its report shows it.

    Raises:
        NotFoundError: no such version.
    """
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise NotFoundError("no such dataset version")
    dataset = version.dataset
    canonical = session.scalars(
        select(VersionDerivative).where(
            VersionDerivative.version_id == version_id, VersionDerivative.kind == "canonical"
        )
    ).first()
    meta = stamp.meta(
        kind="dataset",
        title="Dataset report",
        record_type="dataset version",
        record_id=str(version.id),
        record_version=version.number,
        status="committed",
        version_count=version.number,
    )
    return DatasetReport(
        meta=meta,
        project=dataset.sample.project.name,
        sample=dataset.sample.name,
        dataset=dataset.name,
        author=version.author.display_name,
        created_at=format_time(version.created_at),
        reason=version.reason,
        manifest_sha256=version.manifest_sha256,
        total_bytes=version.total_bytes,
        array_digest=(canonical.array_digest or "") if canonical is not None else "",
        metadata=tuple(_metadata_lines(version.metadata_)),
        files=tuple(FileLine(f.path, f.size_bytes, f.blob_sha256) for f in version.files),
        lineage=tuple(_lineage(version)),
        signatures=signature_lines(session, "dataset_version", str(version.id)),
        audit=tuple(history(session, "dataset_version", str(version.id))),
        preview=_preview(session, store, version.id),
    )


def chain_status(session: Session, settings: Settings) -> str:
    """The audit chain's verification result in one line."""
    report = verify_chain(
        session,
        checkpoints=stored_checkpoints(session),
        public_keys=[load_or_create_private_key(settings.audit_key_path).public_key()],
    )
    if report.is_ok:
        return f"OK, {report.count} events, head {report.head_hash[:16]}…"
    broken = report.first_break.seq if report.first_break else "?"
    return f"BROKEN at event {broken}"


def load_audit_trail(
    session: Session, settings: Settings, stamp: Stamp, criteria: AuditFilter
) -> AuditTrailReport:
    """The filtered audit trail, oldest first, with the chain's verification status."""
    described = ", ".join(f"{k}={v}" for k, v in criteria.as_params().items()) or "all events"
    meta = stamp.meta(
        kind="audit_trail",
        title="Audit trail report",
        record_type="audit trail",
        record_id=described,
        record_version=None,
        status="filtered view",
    )
    events = tuple(iter_events(session, criteria))
    return AuditTrailReport(meta, described, chain_status(session, settings), events)


__all__ = ["SignatureLine", "Stamp", "load_audit_trail", "load_dataset"]
