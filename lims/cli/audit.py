"""``ctvault audit``: verify the hash chain, write and export signed checkpoints."""

from __future__ import annotations

from pathlib import Path

import click

from audit.checkpoints import CheckpointFormatError
from audit.query import AuditFilter
from lims.cli._runtime import login, open_resources, run_user_errors, user_options
from lims.services.audit_trail import (
    checkpoint_now,
    export_audit_csv,
    export_audit_jsonl,
    export_audit_pdf,
    read_checkpoint_files,
    verify_audit_trail,
)


@click.group("audit")
def audit_group() -> None:
    """Verify and anchor the audit trail."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A checkpoint note (or a folder of them) kept outside the database. Repeatable. "
    "The configured checkpoint folder is always read too.",
)
def verify_command(checkpoint_paths: tuple[Path, ...]) -> None:
    """Walk the whole audit chain; print OK with count and head hash, or the first break.

    Exits 1 if any event was edited, deleted, swapped or inserted, if times run backwards,
    or if a signed checkpoint shows the tail was cut off or the chain rewritten.
    """
    with open_resources() as resources, resources.unit_of_work() as uow:
        settings = resources.settings
        paths = [*checkpoint_paths]
        if settings.checkpoint_path.is_dir():
            paths.append(settings.checkpoint_path)
        try:
            external = read_checkpoint_files(paths)
        except CheckpointFormatError as exc:
            raise click.ClickException(f"unreadable checkpoint: {exc}") from exc
        report = verify_audit_trail(uow, settings, external=external)
    if report.is_ok:
        click.echo(
            f"OK: {report.count} events, head {report.head_hash}, "
            f"{report.checkpoints_checked} checkpoint(s) hold"
        )
        return
    first = report.first_break
    assert first is not None  # noqa: S101 - not ok implies a break
    click.echo(f"BROKEN at event {first.seq}: {first.reason}")
    for other in report.breaks:
        if other is not first:
            click.echo(f"  also at event {other.seq}: {other.reason}")
    click.echo(f"{report.count} events read, {len(report.breaks)} problem(s)")
    raise SystemExit(1)


@audit_group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the signed note to this file (e.g. on WORM storage).",
)
def checkpoint_command(out: Path | None) -> None:
    """Sign the current head of the chain now and store the checkpoint.

    The note is kept in the database and written to the checkpoint folder; keep a copy (or a
    printout) elsewhere: that is what proves later that history was not rewritten.
    """
    with open_resources() as resources, resources.unit_of_work() as uow:
        checkpoint = checkpoint_now(uow, resources.settings)
    if checkpoint is None:
        raise click.ClickException("the audit trail is empty: nothing to checkpoint")
    if out is not None:
        out.write_text(checkpoint.note(), encoding="utf-8")
    click.echo(checkpoint.note(), nl=False)


@audit_group.command("export")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["csv", "jsonl", "pdf"]),
    default="csv",
    show_default=True,
    help="csv for spreadsheets, jsonl for independent "
    "re-verification (docs/audit.md), pdf for a printable report.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
@click.option("--actor", default="", help="Only events by users whose name contains this.")
@click.option("--action", default="", help="Only actions starting with this (e.g. project.).")
@click.option("--object-type", default="", help="Only events about this kind of record.")
@click.option("--object-id", default="", help="Only events about this record.")
@user_options
def export_command(
    kind: str,
    out: Path,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Export the audit trail (or a filtered part of it); the export itself is audited."""
    criteria = AuditFilter(actor=actor, action=action, object_type=object_type, object_id=object_id)
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            if kind == "pdf":
                pdf = run_user_errors(
                    lambda: export_audit_pdf(ctx, criteria, lab_name=resources.settings.lab_name)
                )
                uow.commit()
                out.write_bytes(pdf)
            else:
                export = export_audit_csv if kind == "csv" else export_audit_jsonl
                lines = run_user_errors(lambda: export(ctx, criteria))
                with out.open("w", encoding="utf-8", newline="") as handle:
                    handle.writelines(lines)
                uow.commit()
    click.echo(f"wrote {out}")
