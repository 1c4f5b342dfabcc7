"""``ctvault verify``: prove that stored bytes still match their digests."""

from __future__ import annotations

import click

from lims.cli._runtime import advance, open_resources, progress_bar
from lims.services.fixity import blob_total_bytes, verify_blobs


@click.command()
@click.option(
    "--blobs",
    "check_blobs",
    is_flag=True,
    default=True,
    help="Re-hash every stored blob (default).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify(check_blobs: bool, quiet: bool) -> None:
    """Check the store: every blob present and matching its SHA-256.

    Exits 0 when everything matches, 1 when any blob is missing or altered; each problem is
    printed with the dataset versions that use the blob.
    """
    if not check_blobs:
        raise click.UsageError("nothing to verify")
    with (
        open_resources() as resources,
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
    if not report.is_ok:
        raise SystemExit(1)
