"""The ctvault command line as a user runs it: real processes, real servers, committed data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from tests.factories import write_volume
from tests.integration.cli.conftest import ADMIN_PASSWORD

CTVAULT = [sys.executable, "-m", "lims.cli"]


def run(
    env: dict[str, str], *args: str, password: str | None = ADMIN_PASSWORD
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CTVAULT, *args],
        env=env,
        input=f"{password}\n" if password else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def as_admin(*args: str) -> list[str]:
    return [*args, "--user", "admin", "--password-stdin"]


@pytest.fixture
def catalogue(cli_env: dict[str, str]) -> dict[str, str]:
    assert run(cli_env, "user", "init-admin").returncode == 0
    assert run(cli_env, *as_admin("project", "create", "Battery")).returncode == 0
    done = run(cli_env, *as_admin("sample", "create", "Cell 7", "--project", "Battery"))
    assert done.returncode == 0, done.stderr
    return cli_env


def test_init_admin_only_once(cli_env: dict[str, str]) -> None:
    first = run(cli_env, "user", "init-admin")
    assert first.returncode == 0, first.stderr
    assert "created administrator admin" in first.stdout
    again = run(cli_env, "user", "init-admin")
    assert again.returncode == 1
    assert "users exist already" in again.stderr


@pytest.mark.req("A11-06", "P11-09")
def test_ingest_folder_then_verify(catalogue: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "scan-001"
    for i in range(5):
        write_volume(src / f"slice_{i:04d}.raw", seed=i)
    done = run(
        catalogue,
        *as_admin("ingest", str(src), "--project", "Battery", "--sample", "Cell 7", "--quiet"),
    )
    assert done.returncode == 0, done.stderr
    assert "committed scan-001 v1" in done.stdout
    again = run(
        catalogue,
        *as_admin(
            "ingest",
            str(src),
            "--project",
            "Battery",
            "--sample",
            "Cell 7",
            "--reason",
            "re-read",
            "--quiet",
        ),
    )
    assert "committed scan-001 v2" in again.stdout
    verified = run(catalogue, "verify", "--blobs", "--quiet", password=None)
    assert verified.returncode == 0, verified.stderr
    assert "blobs: 5 checked" in verified.stdout
    assert "OK" in verified.stdout


@pytest.mark.req("P11-02", "P11-05")
def test_verify_reports_altered_and_missing_blobs_with_versions(
    catalogue: dict[str, str], tmp_path: Path
) -> None:
    src = tmp_path / "scan"
    write_volume(src / "a.raw", seed=1)
    write_volume(src / "b.raw", seed=2)
    assert (
        run(
            catalogue,
            *as_admin("ingest", str(src), "--project", "Battery", "--sample", "Cell 7", "--quiet"),
        ).returncode
        == 0
    )
    blobs = sorted(
        p
        for p in (Path(catalogue["CTVAULT_DATA_DIR"]) / "store" / "blobs").rglob("*")
        if p.is_file()
    )
    altered, missing = blobs
    altered.chmod(0o600)
    data = bytearray(altered.read_bytes())
    data[100] ^= 0xFF
    altered.write_bytes(bytes(data))
    missing.unlink()

    verified = run(catalogue, "verify", "--blobs", "--quiet", password=None)

    assert verified.returncode == 1
    assert f"BLOB {altered.name}: altered" in verified.stdout
    assert f"BLOB {missing.name}: missing" in verified.stdout
    assert verified.stdout.count("used by scan v1") == 2
    assert "FAILED: 2 problem(s)" in verified.stdout


def test_wrong_password_is_refused_and_changes_nothing(catalogue: dict[str, str]) -> None:
    done = run(catalogue, *as_admin("project", "create", "Other"), password="wrong password!")
    assert done.returncode == 1
    assert "wrong user name or password" in done.stderr
    dup = run(catalogue, *as_admin("project", "create", "Other"))
    assert dup.returncode == 0, "the refused attempt must not have created the project"


@pytest.mark.req("A11-06")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "Nope", "--sample", "Cell 7"], "no project named 'Nope'"),
        (["--project", "Battery", "--sample", "Nope"], "has no sample named 'Nope'"),
    ],
)
def test_ingest_into_unknown_project_or_sample_is_refused(
    catalogue: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    src = write_volume(tmp_path / "v.raw")
    done = run(catalogue, *as_admin("ingest", str(src), *args, "--quiet"))
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, "one line naming the problem"
    store = Path(catalogue["CTVAULT_DATA_DIR"]) / "store" / "blobs"
    assert not any(p.is_file() for p in store.rglob("*"))


def test_ingest_missing_path_is_one_line_error(catalogue: dict[str, str], tmp_path: Path) -> None:
    done = run(
        catalogue,
        *as_admin("ingest", str(tmp_path / "absent"), "--project", "Battery", "--sample", "Cell 7"),
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: {tmp_path / 'absent'}: no such file or folder"


def test_duplicate_project_is_refused(catalogue: dict[str, str]) -> None:
    done = run(catalogue, *as_admin("project", "create", "battery"))
    assert done.returncode == 1
    assert "already exists" in done.stderr


@pytest.mark.req("P11-02")
def test_tamper_drill_verify_names_the_blob_and_the_audit_event(
    catalogue: dict[str, str], tmp_path: Path
) -> None:
    src = write_volume(tmp_path / "v.raw")
    assert (
        run(
            catalogue,
            *as_admin("ingest", str(src), "--project", "Battery", "--sample", "Cell 7", "--quiet"),
        ).returncode
        == 0
    )
    checkpoint = run(
        catalogue, "audit", "checkpoint", "--out", str(tmp_path / "cp.txt"), password=None
    )
    assert checkpoint.returncode == 0, checkpoint.stderr
    assert (tmp_path / "cp.txt").read_text().startswith("ctvault audit checkpoint\n")
    clean = run(catalogue, "verify", "--quiet", password=None)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "audit:" in clean.stdout
    assert "OK" in clean.stdout

    blob = next(
        p
        for p in (Path(catalogue["CTVAULT_DATA_DIR"]) / "store" / "blobs").rglob("*")
        if p.is_file()
    )
    blob.chmod(0o600)
    data = bytearray(blob.read_bytes())
    data[0] ^= 1
    blob.write_bytes(bytes(data))
    owner = sqlalchemy.create_engine(
        catalogue["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://")
    )
    with owner.begin() as conn:
        conn.execute(
            sqlalchemy.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable")
        )
        conn.execute(sqlalchemy.text("UPDATE audit_events SET reason = 'forged' WHERE seq = 3"))
        conn.execute(
            sqlalchemy.text("ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_immutable")
        )
    owner.dispose()

    broken = run(catalogue, "verify", "--quiet", password=None)
    assert broken.returncode == 1
    assert f"BLOB {blob.name}: altered" in broken.stdout
    assert "AUDIT event 3: event 3 was altered" in broken.stdout
    audit_only = run(
        catalogue, "audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"), password=None
    )
    assert audit_only.returncode == 1
    assert "BROKEN at event 3" in audit_only.stdout


def test_audit_verify_refuses_a_malformed_checkpoint_file(
    catalogue: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    done = run(catalogue, "audit", "verify", "--checkpoint", str(bad), password=None)
    assert done.returncode == 1
    assert "unreadable checkpoint: not a ctvault audit checkpoint note" in done.stderr
