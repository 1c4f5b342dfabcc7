"""``ctvault token``: API tokens for scripts, made by a user for themself (shown once)."""

from __future__ import annotations

import uuid

import click

from lims.cli._runtime import login, open_resources, run_user_errors, user_options
from lims.runtime.resources import Resources
from lims.services import tokens
from lims.services.context import ServiceContext


def _own_context(resources: Resources, username: str, password_stdin: bool) -> ServiceContext:
    identity = run_user_errors(lambda: login(resources, username, password_stdin))
    return resources.service_context(resources.unit_of_work(), identity)


@click.group("token")
def token_group() -> None:
    """Make, list and revoke your own API tokens (Bearer tokens for /api/v1)."""


@token_group.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(tokens.SCOPES), default="read", show_default=True)
@click.option("--days", type=int, default=90, show_default=True, help="Lifetime (1-366).")
@user_options
def create(name: str, scope: str, days: int, username: str, password_stdin: bool) -> None:
    """Make a token called NAME for yourself; its secret is printed once, never stored."""
    with open_resources() as resources:
        ctx = _own_context(resources, username, password_stdin)
        issued = run_user_errors(
            lambda: tokens.create_token(ctx, name=name, scope=scope, days=days)
        )
        ctx.uow.commit()
        expires = issued.token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        click.echo(f"token {issued.token.id} ({scope}, expires {expires})", err=True)
        ctx.uow.close()
    click.echo(issued.secret)


@token_group.command("list")
@user_options
def list_command(username: str, password_stdin: bool) -> None:
    """Your tokens: id, name, scope, expiry and whether revoked (never the secret)."""
    with open_resources() as resources:
        ctx = _own_context(resources, username, password_stdin)
        for token in tokens.list_tokens(ctx):
            state = "revoked" if token.revoked_at else "active"
            expires = token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
            click.echo(f"{token.id}  {token.scope:5}  {state:7}  expires {expires}  {token.name}")
        ctx.uow.close()


@token_group.command("revoke")
@click.argument("token_id", type=click.UUID)
@user_options
def revoke(token_id: uuid.UUID, username: str, password_stdin: bool) -> None:
    """Revoke one of your tokens at once."""
    with open_resources() as resources:
        ctx = _own_context(resources, username, password_stdin)
        run_user_errors(lambda: tokens.revoke_token(ctx, token_id))
        ctx.uow.commit()
        ctx.uow.close()
    click.echo(f"revoked token {token_id}")
