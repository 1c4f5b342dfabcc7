"""``ctvault db``: schema migrations."""

from __future__ import annotations

import click

from lims.cli._runtime import open_resources
from lims.db.migrate import upgrade as run_upgrade


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    with open_resources() as resources:
        url = resources.settings.database_url
        assert url is not None  # noqa: S101 - open_resources guarantees it
        run_upgrade(url)
    click.echo("database schema is up to date")
