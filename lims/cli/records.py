"""Commands that create records: users, projects, samples and dataset versions."""

from __future__ import annotations

from pathlib import Path

import click

from lims.cli._runtime import (
    advance,
    login,
    open_resources,
    progress_bar,
    run_user_errors,
    user_options,
)
from lims.services import catalogue
from lims.services.ingest import IngestTarget, ingest_path, list_source_files, total_size


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
