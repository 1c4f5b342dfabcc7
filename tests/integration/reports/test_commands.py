"""`ctvault reports generate` and `ctvault reports verify` as a user runs them (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from lims.db.session import make_engine
from tests.integration.reports.conftest import ADMIN_PASSWORD, pdf_text

CTVAULT = [sys.executable, "-m", "lims.cli"]
ADMIN = ["--user", "admin", "--password-stdin"]


def run(env: dict[str, str], *args: str, password: str | None = ADMIN_PASSWORD):
    return subprocess.run(
        [*CTVAULT, *args],
        env=env,
        input=f"{password}\n" if password else None,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok(env: dict[str, str], *args: str, password: str | None = ADMIN_PASSWORD) -> str:
    done = run(env, *args, password=password)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.req("P11-19", "P11-03")
def test_generate_then_verify_and_a_tampered_copy_fails(
    cli_env: dict[str, str], fresh_database_url: str, tmp_path: Path
) -> None:
    ok(cli_env, "user", "init-admin", password=None)
    worker = subprocess.Popen(
        [*CTVAULT, "worker"], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        pdf = tmp_path / "trail.pdf"
        out = ok(
            cli_env,
            "reports",
            "generate",
            "audit_trail",
            "--action",
            "user.create",
            "--out",
            str(pdf),
            *ADMIN,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert "filed: Audit trail report" in out
    assert "action=user.create" in pdf_text(pdf.read_bytes())
    assert "Imaging Core Lab" in pdf_text(pdf.read_bytes())

    verified = ok(cli_env, "reports", "verify", str(pdf), *ADMIN)
    assert "VERIFIED: seal intact and trusted, covers the whole file" in verified

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    failed = run(cli_env, "reports", "verify", str(tampered), *ADMIN)
    assert failed.returncode == 1
    assert "FAILED:" in failed.stderr
    assert "not a copy of a report stored in ctvault" in failed.stderr
    assert "VERIFIED" not in failed.stdout

    engine = make_engine(fresh_database_url)
    with engine.connect() as connection:
        actions = connection.scalars(
            text("SELECT action FROM audit_events WHERE object_type = 'report' ORDER BY seq")
        ).all()
    engine.dispose()
    assert actions == [
        "report.request",
        "report.generate",
        "report.download",
        "report.verify",
        "report.verify_failed",
    ]


def test_verify_of_a_missing_file_is_a_usage_error(cli_env: dict[str, str], tmp_path: Path):
    done = run(cli_env, "reports", "verify", str(tmp_path / "nope.pdf"), *ADMIN)
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_certificate_command_creates_the_default_once_and_refuses_a_missing_one(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    env["CTVAULT_DATA_DIR"] = str(tmp_path / "data")
    first = ok(env, "reports", "certificate", password=None)
    again = ok(env, "reports", "certificate", password=None)
    assert first == again
    assert "CN=ctvault report seal" in first
    assert "root-ca.crt" in first
    env["CTVAULT_REPORT_CERT"] = str(tmp_path / "absent.crt")
    env["CTVAULT_REPORT_KEY"] = str(tmp_path / "absent.key")
    missing = run(env, "reports", "certificate", password=None)
    assert missing.returncode == 1
    assert "absent.crt is missing" in missing.stderr
