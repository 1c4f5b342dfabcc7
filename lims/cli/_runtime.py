"""What every CLI command needs: settings, embedded servers, resources, the acting user."""

from __future__ import annotations

import contextlib
import getpass
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Never, TypeVar

import click
from tqdm import tqdm

from lims.auth.identity import Identity
from lims.errors import CtvaultError, UserError
from lims.runtime.embedded import EmbeddedServers, start_embedded
from lims.runtime.resources import Resources, build_resources
from lims.services.login import LoginResult, authenticate
from lims.settings import Settings

T = TypeVar("T")


def load_settings() -> Settings:
    """Settings from the environment, or a clean error exit."""
    try:
        return Settings.from_env()
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def open_resources(settings: Settings | None = None) -> Iterator[Resources]:
    """Resources for one command; embedded servers are started (or reused) when needed."""
    settings = settings or load_settings()
    servers: EmbeddedServers | None = None
    try:
        if settings.is_embedded:
            servers = start_embedded(
                settings.data_dir, database_url=settings.database_url, redis_url=settings.redis_url
            )
            settings = settings.replace(
                database_url=servers.database_url, redis_url=servers.redis_url
            )
        resources = build_resources(settings)
    except CtvaultError as exc:
        if servers is not None:
            servers.stop()
        raise click.ClickException(str(exc)) from exc
    try:
        yield resources
    finally:
        resources.close()
        if servers is not None:
            servers.stop()


def progress_bar(total: int, desc: str, *, quiet: bool) -> tqdm[Never]:
    """A byte-counting progress bar on standard error."""
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=quiet,
        file=sys.stderr,
    )


def advance(bar: tqdm[Never]) -> Callable[[int], None]:
    """A progress callback that moves ``bar`` on by the bytes it is given."""

    def update(size: int) -> None:
        bar.update(size)

    return update


def cli_context() -> dict[str, str]:
    """The request context of a CLI action, recorded in the audit trail."""
    return {"via": "cli", "host": socket.gethostname(), "os_user": getpass.getuser()}


def read_password(username: str, password_stdin: bool, purpose: str = "") -> str:
    """The password: one line from stdin, or prompted (``purpose`` is shown, e.g. "to sign")."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    suffix = f" ({purpose})" if purpose else ""
    return str(click.prompt(f"Password for {username}{suffix}", hide_input=True))


def check_password(resources: Resources, username: str, password: str) -> LoginResult:
    """Authenticate a command's user (LDAP or local; failures count toward lockout).

    Raises:
        UserError: wrong credentials.
    """
    with resources.unit_of_work() as uow:
        return authenticate(
            uow,
            resources.settings,
            username=username,
            password=password,
            context=cli_context(),
            directory=resources.directory,
        )


def login(resources: Resources, username: str, password_stdin: bool) -> Identity:
    """Check the user's password (prompted, or one line from stdin) and return them.

    Raises:
        UserError: wrong credentials, or a password that must be changed first.
    """
    result = check_password(resources, username, read_password(username, password_stdin))
    if result.must_change_password:
        raise UserError(
            f"{username} must change the password first: ctvault user passwd --user {username}"
        )
    return result.identity


def run_user_errors(action: Callable[[], T]) -> T:
    """Run an action, turning a ctvault error into a one-line message and exit code 1."""
    try:
        return action()
    except CtvaultError as exc:
        raise click.ClickException(str(exc)) from exc


def user_options(func: Callable[..., None]) -> Callable[..., None]:
    """The --user and --password-stdin options of every command that changes records."""
    func = click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input instead of prompting.",
    )(func)
    return click.option(
        "--user",
        "username",
        required=True,
        envvar="CTVAULT_USER",
        help="The user you act as; every change is recorded under this name.",
    )(func)
