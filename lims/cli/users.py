"""``ctvault user``: local accounts, roles and project membership, passwords, lockouts."""

from __future__ import annotations

import sys

import click

from lims.auth.passwords import generate_password
from lims.auth.roles import Role
from lims.cli._runtime import (
    cli_context,
    login,
    open_resources,
    run_user_errors,
    user_options,
)
from lims.errors import NotFoundError
from lims.models import User
from lims.runtime.resources import Resources
from lims.services import admin, catalogue, users
from lims.services.context import ServiceContext
from lims.services.login import authenticate, change_password

ROLE_CHOICE = click.Choice([r.value for r in Role])


@click.group()
def user() -> None:
    """Manage accounts, roles and project membership."""


@user.command("create")
@click.argument("new_username")
@click.option("--name", "display_name", default="", help="Full name, as printed in records.")
@click.option("--email", default=None, help="E-mail address for notifications.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=ROLE_CHOICE,
    default=["viewer"],
    show_default=True,
    help="A global role; repeat for several.",
)
@click.option("--reason", default="new account", show_default=True, help="Why (audited).")
@user_options
def create_user(
    new_username: str,
    display_name: str,
    email: str | None,
    roles: tuple[str, ...],
    reason: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Create a local account NEW_USERNAME; its one-time password is printed once.

    The new user must change it at first login. An administrator acts as --user.
    """
    password = generate_password()
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            created = run_user_errors(
                lambda: users.create_user(
                    ctx,
                    username=new_username,
                    display_name=display_name,
                    password=password,
                    email=email,
                    roles=frozenset(Role(r) for r in roles),
                    reason=reason,
                )
            )
            uow.commit()
    click.echo(f"created user {created.username} ({created.id})")
    click.echo(f"one-time password (shown once, must be changed at first login): {password}")


@user.command("init-admin")
def init_admin() -> None:
    """Create the first administrator, only when no user exists yet.

    The user name is CTVAULT_ADMIN_USER (default admin); the password is
    CTVAULT_ADMIN_PASSWORD, or generated and printed once. `ctvault serve` does this by
    itself on the embedded default.
    """
    with open_resources() as resources:
        settings = resources.settings
        password = settings.admin_password or generate_password()
        with resources.unit_of_work() as uow:
            created = run_user_errors(
                lambda: users.bootstrap_admin(
                    uow, username=settings.admin_username, password=password
                )
            )
            uow.commit()
    if created is None:
        raise click.ClickException("users exist already: the first admin was created before")
    click.echo(f"created administrator {created.username} ({created.id})")
    if settings.admin_password is None:
        click.echo(f"initial password (shown once): {password}")


@user.command("passwd")
@click.option("--user", "username", required=True, help="Your user name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the current and then the new password from two lines of stdin.",
)
def passwd(username: str, password_stdin: bool) -> None:
    """Change your own (local) password; also clears a forced change."""
    if password_stdin:
        current = sys.stdin.readline().rstrip("\n")
        new = sys.stdin.readline().rstrip("\n")
    else:
        current = click.prompt("Current password", hide_input=True)
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_resources() as resources, resources.unit_of_work() as uow:
        result = run_user_errors(
            lambda: authenticate(
                uow,
                resources.settings,
                username=username,
                password=current,
                context=cli_context(),
                directory=resources.directory,
            )
        )
        run_user_errors(
            lambda: change_password(
                uow, resources.settings, result.identity, current=current, new=new
            )
        )
        uow.commit()
    click.echo("password changed")


def _admin_action(resources: Resources, username: str, password_stdin: bool) -> ServiceContext:
    identity = run_user_errors(lambda: login(resources, username, password_stdin))
    return resources.service_context(resources.unit_of_work(), identity)


def _target(ctx: ServiceContext, name: str) -> User:
    found = users.find_user(ctx.uow.session, name)
    if found is None:
        raise click.ClickException(f"no user named {name!r}")
    return found


@user.command("grant")
@click.argument("target")
@click.argument("role", type=ROLE_CHOICE)
@click.option(
    "--project",
    "project_name",
    default=None,
    help="Only within this project (project membership). Default: global.",
)
@click.option("--reason", required=True, help="Why (audited).")
@user_options
def grant(
    target: str,
    role: str,
    project_name: str | None,
    reason: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Give TARGET the ROLE, globally or within one --project."""
    with open_resources() as resources:
        ctx = _admin_action(resources, username, password_stdin)
        project_id = (
            run_user_errors(lambda: catalogue.find_project(ctx, project_name)).id
            if project_name
            else None
        )
        run_user_errors(
            lambda: admin.grant_role(
                ctx, _target(ctx, target).id, Role(role), project_id=project_id, reason=reason
            )
        )
        ctx.uow.commit()
        ctx.uow.close()
    click.echo(f"{target} is now {role}" + (f" in {project_name}" if project_name else ""))


@user.command("revoke")
@click.argument("target")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--project", "project_name", default=None, help="The project, if not global.")
@click.option("--reason", required=True, help="Why (audited).")
@user_options
def revoke(
    target: str,
    role: str,
    project_name: str | None,
    reason: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Take the ROLE away from TARGET (the assignment is kept, marked revoked)."""
    with open_resources() as resources:
        ctx = _admin_action(resources, username, password_stdin)
        project_id = (
            run_user_errors(lambda: catalogue.find_project(ctx, project_name)).id
            if project_name
            else None
        )
        person = _target(ctx, target)
        held = [
            a
            for a in person.role_assignments
            if a.role == role and a.project_id == project_id and a.revoked_at is None
        ]
        if not held:
            raise click.ClickException(str(NotFoundError(f"{target} is not {role} there")))
        run_user_errors(lambda: admin.revoke_role(ctx, held[0].id, reason=reason))
        ctx.uow.commit()
        ctx.uow.close()
    click.echo(f"{target} is no longer {role}" + (f" in {project_name}" if project_name else ""))


@user.command("set")
@click.argument("target")
@click.argument("state", type=click.Choice(["enabled", "disabled", "unlocked", "retired"]))
@click.option("--reason", required=True, help="Why (audited).")
@user_options
def set_state(target: str, state: str, reason: str, username: str, password_stdin: bool) -> None:
    """Enable, disable, unlock or retire TARGET's account."""
    with open_resources() as resources:
        ctx = _admin_action(resources, username, password_stdin)
        user_id = _target(ctx, target).id
        actions = {
            "enabled": lambda: admin.set_active(ctx, user_id, active=True, reason=reason),
            "disabled": lambda: admin.set_active(ctx, user_id, active=False, reason=reason),
            "unlocked": lambda: admin.unlock(ctx, user_id, reason=reason),
            "retired": lambda: admin.retire_user(ctx, user_id, reason=reason),
        }
        run_user_errors(actions[state])
        ctx.uow.commit()
        ctx.uow.close()
    click.echo(f"{target}: {state}")


@user.command("reset-password")
@click.argument("target")
@click.option("--reason", required=True, help="Why (audited; the owner is told by e-mail).")
@user_options
def reset(target: str, reason: str, username: str, password_stdin: bool) -> None:
    """Give TARGET a one-time password that must be changed at first login."""
    with open_resources() as resources:
        ctx = _admin_action(resources, username, password_stdin)
        password = run_user_errors(
            lambda: admin.reset_password(ctx, _target(ctx, target).id, reason=reason)
        )
        ctx.uow.commit()
        ctx.uow.close()
    click.echo(f"one-time password for {target} (shown once): {password}")
