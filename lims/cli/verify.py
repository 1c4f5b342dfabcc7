"""``ctvault verify``: prove that stored bytes and the audit trail match their digests."""

from __future__ import annotations

import click

from lims.cli._runtime import advance, open_resources, progress_bar
from lims.runtime.resources import Resources
from lims.services.audit_trail import read_checkpoint_files, verify_audit_trail
from lims.services.fixity import blob_total_bytes, verify_blobs


@click.command()
@click.option(
    "--blobs/--no-blobs",
    "check_blobs",
    default=True,
    help="Re-hash every stored blob (default: yes).",
)
@click.option(
    "--audit/--no-audit",
    "check_audit",
    default=True,
    help="Verify the audit hash chain and its checkpoints (default: yes).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify(check_blobs: bool, check_audit: bool, quiet: bool) -> None:
    """Check that every blob is present and matches its SHA-256, and the audit chain holds.

    Exits 0 when everything matches, 1 when anything is missing or altered; each problem is
    printed (blobs with the dataset versions that use them, the audit trail with the first
    broken event). `ctvault audit verify` checks the chain with extra checkpoint files.
    """
    if not (check_blobs or check_audit):
        raise click.UsageError("nothing to verify: drop --no-blobs or --no-audit")
    is_ok = True
    with open_resources() as resources:
        if check_blobs:
            is_ok &= _verify_blobs(resources, quiet=quiet)
        if check_audit:
            is_ok &= _verify_audit(resources)
    if not is_ok:
        raise SystemExit(1)


def _verify_blobs(resources: Resources, *, quiet: bool) -> bool:
    with (
        resources.unit_of_work() as uow,
        progress_bar(blob_total_bytes(uow), "verify blobs", quiet=quiet) as bar,
    ):
        report = verify_blobs(uow, resources.blobstore, advance(bar))
    for problem in report.problems:
        click.echo(f"BLOB {problem.sha256}: {problem.problem}")
        for version in problem.versions:
            click.echo(f"    used by {version}")
    status = "OK" if report.is_ok else f"FAILED: {len(report.problems)} problem(s)"
    click.echo(f"blobs: {report.checked} checked, {report.checked_bytes} bytes re-hashed; {status}")
    return report.is_ok


def _verify_audit(resources: Resources) -> bool:
    settings = resources.settings
    folder = settings.checkpoint_path
    external = read_checkpoint_files([folder]) if folder.is_dir() else []
    with resources.unit_of_work() as uow:
        report = verify_audit_trail(uow, settings, external=external)
    for problem in report.breaks:
        click.echo(f"AUDIT event {problem.seq}: {problem.reason}")
    status = "OK" if report.is_ok else f"FAILED: {len(report.breaks)} problem(s)"
    click.echo(f"audit: {report.count} events, head {report.head_hash}; {status}")
    return report.is_ok
