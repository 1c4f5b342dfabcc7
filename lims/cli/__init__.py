"""The ``ctvault`` command line: one click group, one module per family of commands."""

from __future__ import annotations

import click

from lims import __version__
from lims.cli.audit import audit_group
from lims.cli.config import config
from lims.cli.database import db
from lims.cli.records import ingest, project, sample
from lims.cli.reports import reports_group
from lims.cli.runs import replay, run_group, workflow
from lims.cli.serve import serve, worker
from lims.cli.signatures import signatures_group
from lims.cli.tokens import token_group
from lims.cli.users import user
from lims.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ctvault")
def cli() -> None:
    """ctvault: checksummed, versioned, audited storage for CT and microscopy data.

    Settings come from environment variables (see `ctvault config`). Without DATABASE_URL
    and REDIS_URL, commands use the embedded PostgreSQL and Redis in CTVAULT_DATA_DIR.
    """


for command in (
    serve,
    worker,
    db,
    user,
    token_group,
    project,
    sample,
    ingest,
    verify,
    audit_group,
    config,
    workflow,
    run_group,
    replay,
    reports_group,
    signatures_group,
):
    cli.add_command(command)


def main() -> None:
    """Console entry point."""
    cli()
