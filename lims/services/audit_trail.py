"""Audit trail use cases: verify the chain, write and export checkpoints, review events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from audit import EventDraft
from audit.chain import format_time
from audit.checkpoints import Checkpoint, parse_note, stored_checkpoints, write_checkpoint
from audit.export import csv_lines, jsonl_lines
from audit.keys import load_or_create_private_key
from audit.query import AuditFilter, EventView, history, iter_events, search
from audit.verify import ChainReport, verify_chain
from lims.auth.roles import Permission
from lims.db.uow import UnitOfWork
from lims.errors import NotFoundError
from lims.services import access
from lims.services.context import ServiceContext
from lims.settings import Settings
from reports.audit_trail import AuditReportHeader, build_audit_pdf


def trusted_public_keys(settings: Settings) -> list[Ed25519PublicKey]:
    """The public half of the configured checkpoint key."""
    return [load_or_create_private_key(settings.audit_key_path).public_key()]


def checkpoint_now(uow: UnitOfWork, settings: Settings) -> Checkpoint | None:
    """Sign the chain head, store it, commit, and file the note in the checkpoint folder."""
    checkpoint = write_checkpoint(uow.session, load_or_create_private_key(settings.audit_key_path))
    uow.commit()
    if checkpoint is not None:
        folder = settings.checkpoint_path
        folder.mkdir(parents=True, exist_ok=True)
        name = f"checkpoint-{checkpoint.size:012d}-{checkpoint.time[:19].replace(':', '')}.txt"
        (folder / name).write_text(checkpoint.note(), encoding="utf-8")
    return checkpoint


def read_checkpoint_files(paths: Sequence[Path]) -> list[Checkpoint]:
    """Parse checkpoint notes kept outside the database (files or folders of them)."""
    notes: list[Checkpoint] = []
    for path in paths:
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        notes.extend(parse_note(file.read_text(encoding="utf-8")) for file in files)
    return notes


def verify_audit_trail(
    uow: UnitOfWork,
    settings: Settings,
    *,
    external: Sequence[Checkpoint] = (),
    connect: Callable[[], Any] | None = None,
) -> ChainReport:
    """Verify the chain against the stored checkpoints and any kept outside the database.

    ``connect`` (new DB-API connections) lets two ranges be verified at once.
    """
    session = uow.session
    checkpoints = [*stored_checkpoints(session), *external]
    return verify_chain(
        session,
        checkpoints=checkpoints,
        public_keys=trusted_public_keys(settings),
        connect=connect,
    )


def _require_reviewer(ctx: ServiceContext) -> None:
    access.check(ctx, Permission.AUDIT_REVIEW)


OBJECT_TYPES = (
    "project",
    "sample",
    "dataset",
    "dataset_version",
    "version_file",
    "user",
    "audit_trail",
)


def can_review(ctx: ServiceContext) -> bool:
    """True when the caller may read the whole audit trail (for menus and buttons)."""
    return ctx.require_identity().can(Permission.AUDIT_REVIEW)


def verify_for(ctx: ServiceContext) -> ChainReport:
    """Verify the chain on a reviewer's request (same permission as reading the trail)."""
    _require_reviewer(ctx)
    return verify_audit_trail(ctx.uow, ctx.settings)


def search_audit(
    ctx: ServiceContext, criteria: AuditFilter, *, page: int = 1, per_page: int = 100
) -> tuple[list[EventView], int]:
    """A page of the audit trail matching ``criteria`` (newest first) and the match count."""
    _require_reviewer(ctx)
    page = max(page, 1)
    return search(ctx.uow.session, criteria, limit=per_page, offset=(page - 1) * per_page)


def record_history(ctx: ServiceContext, object_type: str, object_id: str) -> list[EventView]:
    """Who did what to one record, when and why, oldest first."""
    try:
        record_id = uuid.UUID(object_id)
    except ValueError:
        raise NotFoundError(f"no such {object_type}") from None
    project_id = access.project_id_of(ctx.uow.session, object_type, record_id)
    access.check_visible(ctx, project_id, object_type.replace("_", " "))
    return history(ctx.uow.session, object_type, object_id)


def _record_export(ctx: ServiceContext, kind: str, criteria: AuditFilter) -> None:
    ctx.audit(
        EventDraft(
            "audit.export", "audit_trail", kind, {"filter": criteria.as_params(), "format": kind}
        )
    )


def export_audit_csv(ctx: ServiceContext, criteria: AuditFilter) -> Iterator[str]:
    """CSV of the matching events (oldest first). The export itself is audited; commit first."""
    _require_reviewer(ctx)
    _record_export(ctx, "csv", criteria)
    return csv_lines(iter_events(ctx.uow.session, criteria))


def export_audit_jsonl(ctx: ServiceContext, criteria: AuditFilter) -> Iterator[str]:
    """The raw hashed fields of each matching event, one JSON object per line (audited)."""
    _require_reviewer(ctx)
    _record_export(ctx, "jsonl", criteria)
    return jsonl_lines(iter_events(ctx.uow.session, criteria))


def export_audit_pdf(ctx: ServiceContext, criteria: AuditFilter, *, lab_name: str) -> bytes:
    """A paginated PDF of the matching events, with the chain's verification status."""
    identity = ctx.require_identity()
    _require_reviewer(ctx)
    report = verify_audit_trail(ctx.uow, ctx.settings)
    status = (
        f"OK, {report.count} events, head {report.head_hash[:16]}…"
        if report.is_ok
        else f"BROKEN at event {report.first_break.seq if report.first_break else '?'}"
    )
    _record_export(ctx, "pdf", criteria)
    described = ", ".join(f"{k}={v}" for k, v in criteria.as_params().items()) or "all events"
    header = AuditReportHeader(
        lab_name=lab_name,
        generated_by=identity.printed_name,
        generated_at=format_time(ctx.uow.session.scalar(select(func.now())) or _epoch()),
        filter_text=described,
        chain_status=status,
    )
    return build_audit_pdf(header, iter_events(ctx.uow.session, criteria))


def _epoch() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
