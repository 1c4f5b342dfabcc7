"""``ctvault signatures``: verify every signature, export and rotate the signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from audit.chain import format_time
from lims.auth.identity import Identity
from lims.cli._runtime import (
    check_password,
    login,
    open_resources,
    read_password,
    run_user_errors,
    user_options,
)
from lims.errors import UserError
from lims.runtime.resources import Resources
from lims.services.signature_admin import (
    export_public_keys,
    rotate_signing_key,
    verify_every_signature,
)
from signatures.statement import STATEMENT_SHA256, STATEMENT_TEXT, STATEMENT_VERSION


def signer_login(resources: Resources, username: str, password_stdin: bool) -> tuple[Identity, str]:
    """Log a signer in; return them with the password, which the signature asks for again.

    Raises:
        UserError: wrong credentials, or a password that must be changed first.
    """
    password = read_password(username, password_stdin, "to sign")
    result = check_password(resources, username, password)
    if result.must_change_password:
        raise UserError(f"{username} must set their own password before signing")
    return result.identity, password


def statement_notice() -> str:
    """The accountability statement, and how a first signature acknowledges it."""
    return (
        f"{STATEMENT_TEXT}\n\nYour first signature needs this statement acknowledged: read it, "
        "then sign again with --acknowledge-statement."
    )


@click.group("signatures")
def signatures_group() -> None:
    """Electronic signatures: verify them, manage the keys that seal them."""


@signatures_group.command("statement")
def statement() -> None:
    """Print the signature-accountability statement each signer acknowledges once."""
    click.echo(STATEMENT_TEXT)
    click.echo(f"\nversion {STATEMENT_VERSION}, SHA-256 {STATEMENT_SHA256}")


@signatures_group.command("verify")
@click.option("--all", "show_all", is_flag=True, help="List valid signatures too.")
def verify(show_all: bool) -> None:
    """Re-compute each signed record's digest and check each signature's manifest and seal.

    Exits 0 when every signature holds, 1 when any is broken (each one is listed with why).
    A withdrawn signature is intact: it is listed with --all, and does not fail the check.
    """
    with open_resources() as resources, resources.unit_of_work() as uow:
        verdicts = verify_every_signature(uow)
        broken = 0
        for verdict in verdicts:
            row = verdict.signature
            if verdict.intact and not show_all:
                continue
            broken += not verdict.intact
            click.echo(
                f"{verdict.status.upper()} {row.id} {row.record_type} {row.record_id} "
                f"{row.meaning} by {row.printed_name} at {format_time(row.signed_at)}"
            )
            for problem in verdict.problems:
                click.echo(f"    {problem}")
    status = "OK" if not broken else f"FAILED: {broken} broken"
    click.echo(f"signatures: {len(verdicts)} checked; {status}")
    if broken:
        raise SystemExit(1)


@signatures_group.group("keys")
def keys_group() -> None:
    """The Ed25519 keys that seal signatures."""


@keys_group.command("export")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout."
)
def export(output: Path | None) -> None:
    """Print every public signing key (JSON) so anyone can verify signatures offline."""
    with open_resources() as resources, resources.unit_of_work() as uow:
        text = export_public_keys(uow)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"public keys written to {output}")


@keys_group.command("rotate")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@user_options
def rotate(reason: str, username: str, password_stdin: bool) -> None:
    """Add a new signing key that signs from now on (administrators only)."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            row = run_user_errors(lambda: rotate_signing_key(ctx, reason=reason))
    click.echo(f"new signing key {row.key_id}")
