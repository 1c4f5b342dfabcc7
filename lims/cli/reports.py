"""Report commands: ask a worker for a sealed PDF report, and verify a report file."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from pathlib import Path

import click
from cryptography.hazmat.primitives import hashes

from audit.query import AuditFilter
from lims.cli._runtime import (
    load_settings,
    login,
    open_resources,
    run_user_errors,
    user_options,
)
from lims.clock import SystemClock
from lims.models import ReportRequest
from lims.runtime.resources import Resources
from lims.services import reports
from reports.certificate import check_validity, ensure_certificate, load_certificate

POLL_S = 0.5


@click.group("reports")
def reports_group() -> None:
    """Generate sealed PDF reports and verify report files."""


def _when(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise click.BadParameter(f"{raw!r} is not an ISO date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _wait(resources: Resources, request_id: uuid.UUID, timeout_s: float) -> ReportRequest:
    deadline = time.monotonic() + timeout_s
    while True:
        with resources.unit_of_work() as uow:
            request = uow.session.get(ReportRequest, request_id)
            assert request is not None  # noqa: S101 - committed before waiting
            if request.status != "queued" or time.monotonic() > deadline:
                uow.session.expunge(request)
                return request
        time.sleep(POLL_S)


@reports_group.command("generate")
@click.argument("kind", type=click.Choice(["dataset", "analysis", "audit_trail"]))
@click.argument("record_id", default="")
@click.option("--actor", default="", help="audit_trail: only events by this user.")
@click.option("--action", default="", help="audit_trail: only this action.")
@click.option("--object-type", default="", help="audit_trail: only this record type.")
@click.option("--object-id", default="", help="audit_trail: only this record.")
@click.option("--since", default=None, help="audit_trail: from this ISO time (UTC if no zone).")
@click.option("--until", default=None, help="audit_trail: until this ISO time.")
@click.option("--wait/--no-wait", default=True, help="Wait for a worker to file the report.")
@click.option("--timeout", "timeout_s", default=300.0, help="Seconds to wait.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the PDF here.")
@user_options
def generate(
    kind: str,
    record_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    since: str | None,
    until: str | None,
    wait: bool,
    timeout_s: float,
    out: Path | None,
    username: str,
    password_stdin: bool,
) -> None:
    """Ask for a KIND report of RECORD_ID (dataset version or analysis id; none for audit_trail)."""
    criteria = AuditFilter(actor, action, object_type, object_id, _when(since), _when(until))
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            request = run_user_errors(
                lambda: reports.request_report(ctx, kind, record_id, criteria=criteria)
            )
            request_id = request.id
            uow.commit()
        click.echo(f"report {request_id} requested")
        if not wait:
            return
        done = _wait(resources, request_id, timeout_s)
        if done.status == "queued":
            raise click.ClickException(
                f"no worker filed report {request_id} within {timeout_s:g} s "
                "(is `ctvault worker` or `ctvault serve` running?)"
            )
        if done.status == "failed":
            raise click.ClickException(f"report {request_id} failed: {done.message}")
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            report, stream = run_user_errors(lambda: reports.open_report(ctx, request_id))
            with stream:
                if out is not None:
                    with out.open("wb") as target:
                        shutil.copyfileobj(stream, target)
            uow.commit()
        click.echo(f"filed: {report.title}, {report.page_count} pages, sha256 {report.blob_sha256}")
        if out is not None:
            click.echo(f"saved to {out}")


@reports_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@user_options
def verify(file: Path, username: str, password_stdin: bool) -> None:
    """Check FILE: the seal is intact and trusted, covers the whole file, and it is filed."""
    data = file.read_bytes()
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            outcome = run_user_errors(lambda: reports.verify_file(ctx, data, name=file.name))
            uow.commit()
    click.echo(f"{file}: sha256 {outcome.sha256}")
    if outcome.seal.signer:
        click.echo(f"sealed by: {outcome.seal.signer} at {outcome.seal.signed_at}")
    if not outcome.is_ok:
        for problem in outcome.problems:
            click.echo(f"FAILED: {problem}", err=True)
        raise SystemExit(1)
    assert outcome.report is not None  # noqa: S101 - is_ok means it was found
    click.echo(
        f"VERIFIED: seal intact and trusted, covers the whole file; this is report "
        f"{outcome.report.id} ({outcome.report.title})"
    )


@reports_group.command("certificate")
def certificate() -> None:
    """Show the seal certificate; the embedded default is created if there is none yet."""
    settings = load_settings()
    now = SystemClock().now()
    files = run_user_errors(lambda: ensure_certificate(settings, now))
    cert = run_user_errors(lambda: load_certificate(files.certificate))
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":")
    click.echo(f"subject:     {cert.subject.rfc4514_string()}")
    click.echo(f"issuer:      {cert.issuer.rfc4514_string()}")
    click.echo(
        f"valid:       {cert.not_valid_before_utc.isoformat()} to "
        f"{cert.not_valid_after_utc.isoformat()}"
    )
    click.echo(f"SHA-256:     {fingerprint}")
    click.echo(f"certificate: {files.certificate}")
    click.echo(f"key:         {files.key} (encrypted)")
    click.echo(f"trust root:  {files.trust_root} (give this to whoever verifies reports)")
    run_user_errors(lambda: check_validity(cert, now))
