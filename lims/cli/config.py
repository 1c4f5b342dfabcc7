"""``ctvault config``: show every setting, its variable and its current value."""

from __future__ import annotations

import dataclasses

import click

from lims.cli._runtime import load_settings

SECRET_FIELDS = {"secret_key", "admin_password", "ldap_bind_password"}


@click.command()
def config() -> None:
    """List every setting with its environment variable and current value (secrets hidden)."""
    settings = load_settings()
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        shown = "(set)" if field.name in SECRET_FIELDS and value else value
        if isinstance(shown, str) and "://" in shown and "@" in shown:
            scheme, rest = shown.split("://", 1)
            shown = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        click.echo(f"{field.metadata['env']:<34} {'' if shown is None else shown}")
        click.echo(f"    {field.metadata['doc']}")
