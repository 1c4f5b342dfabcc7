"""Commands that create records: users, projects, samples and dataset versions."""

from __future__ import annotations

from pathlib import Path

import click

from lims.auth.passwords import generate_password
from lims.cli._runtime import (
    advance,
    login,
    open_resources,
    progress_bar,
    run_user_errors,
    user_options,
)
from lims.services import catalogue, users
from lims.services.ingest import IngestTarget, ingest_path, list_source_files, total_size


@click.group()
def user() -> None:
    """Manage local user accounts."""


@user.command("create")
@click.argument("new_username")
@click.option("--name", "display_name", default="", help="Full name, as printed in records.")
@click.option("--email", default=None, help="E-mail address for notifications.")
@click.option("--admin", "is_admin", is_flag=True, help="Make the new user an administrator.")
@click.option(
    "--new-password",
    default=None,
    help="The new user's password. Default: generate one and print it once.",
)
@user_options
def create_user(
    new_username: str,
    display_name: str,
    email: str | None,
    is_admin: bool,
    new_password: str | None,
    username: str,
    password_stdin: bool,
) -> None:
    """Create a local account NEW_USERNAME (an administrator acts as --user)."""
    password = new_password or generate_password()
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
                    is_admin=is_admin,
                )
            )
            uow.commit()
    click.echo(f"created user {created.username} ({created.id})")
    if new_password is None:
        click.echo(f"initial password (shown once): {password}")


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


@click.group()
def project() -> None:
    """Manage projects."""


@project.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the project is about.")
@user_options
def create_project(name: str, description: str, username: str, password_stdin: bool) -> None:
    """Create a project called NAME."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            created = run_user_errors(
                lambda: catalogue.create_project(ctx, name=name, description=description)
            )
            uow.commit()
    click.echo(f"created project {created.name} ({created.id})")


@click.group()
def sample() -> None:
    """Manage samples."""


@sample.command("create")
@click.argument("name")
@click.option("--project", "project_name", required=True, help="The project it belongs to.")
@click.option("--description", default="", help="What the specimen is.")
@user_options
def create_sample(
    name: str, project_name: str, description: str, username: str, password_stdin: bool
) -> None:
    """Create a sample called NAME inside an existing project."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            created = run_user_errors(
                lambda: catalogue.create_sample(
                    ctx, project_name=project_name, name=name, description=description
                )
            )
            uow.commit()
    click.echo(f"created sample {created.name} ({created.id}) in project {project_name}")


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--project", "project_name", required=True, help="An existing project.")
@click.option("--sample", "sample_name", required=True, help="An existing sample of it.")
@click.option(
    "--dataset",
    "dataset_name",
    default=None,
    help="Dataset name. Default: the file or folder name. An existing dataset gets a new version.",
)
@click.option("--reason", default=None, help="Why this version exists. Default: 'ingest of PATH'.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_options
def ingest(
    path: Path,
    project_name: str,
    sample_name: str,
    dataset_name: str | None,
    reason: str | None,
    quiet: bool,
    username: str,
    password_stdin: bool,
) -> None:
    """Ingest a file or a whole folder at PATH as one new, immutable dataset version.

    Every byte is checksummed (SHA-256) while it is copied into the store. The version
    appears only once all files are safely stored; on any error nothing is kept.
    """
    target = IngestTarget(project_name, sample_name, dataset_name or path.name)
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        files = run_user_errors(lambda: list_source_files(path))
        with (
            resources.unit_of_work() as uow,
            progress_bar(total_size(files), f"ingest {len(files)} file(s)", quiet=quiet) as bar,
        ):
            ctx = resources.service_context(uow, identity)
            version = run_user_errors(
                lambda: ingest_path(
                    ctx,
                    target,
                    path,
                    reason=reason or f"ingest of {path}",
                    progress=advance(bar),
                )
            )
    click.echo(
        f"committed {target.dataset} v{version.number} ({version.id}): {len(files)} file(s), "
        f"{version.total_bytes} bytes, manifest sha256 {version.manifest_sha256}"
    )
