"""The processing commands as a user runs them: real processes, a real worker, committed data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tifffile

from lims.db.session import make_engine, make_session_factory
from lims.db.uow import UnitOfWork
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.runs.conftest import ADMIN_PASSWORD, two_spheres

CTVAULT = [sys.executable, "-m", "lims.cli"]


def run(env: dict[str, str], *args: str, password: str | None = DEFAULT_PASSWORD):
    return subprocess.run(
        [*CTVAULT, *args],
        env=env,
        input=f"{password}\n" if password else None,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok(env: dict[str, str], *args: str, password: str | None = DEFAULT_PASSWORD) -> str:
    done = run(env, *args, password=password)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def prepared_version(env: dict[str, str], database_url: str, tmp_path: Path) -> str:
    """Admin, project Battery, sample Cell 7, user mcurie; a volume she ingested, prepared."""
    admin = ["--user", "admin", "--password-stdin"]
    ok(env, "user", "init-admin", password=None)
    ok(env, "project", "create", "Battery", *admin, password=ADMIN_PASSWORD)
    ok(env, "sample", "create", "Cell 7", "--project", "Battery", *admin, password=ADMIN_PASSWORD)
    engine = make_engine(database_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        make_user(uow, "mcurie")
    engine.dispose()
    folder = tmp_path / "scan"
    folder.mkdir()
    for z, plane in enumerate(two_spheres()):
        tifffile.imwrite(folder / f"slice_{z:04d}.tif", plane)
    me = ["--user", "mcurie", "--password-stdin"]
    out = ok(
        env, "ingest", str(folder), "--project", "Battery", "--sample", "Cell 7", "--quiet", *me
    )
    version_id = re.search(r"v1 \(([0-9a-f-]{36})\)", out).group(1)
    ok(env, "worker", "--burst", password=None)
    return version_id


@pytest.mark.req("REP-01")
def test_submit_show_and_replay_from_the_command_line(
    cli_env: dict[str, str], fresh_database_url: str, tmp_path: Path
) -> None:
    me = ["--user", "mcurie", "--password-stdin"]
    version_id = prepared_version(cli_env, fresh_database_url, tmp_path)

    ok(
        cli_env,
        "workflow",
        "create",
        "Label",
        "--step",
        "segment.otsu:1",
        "--step",
        "segment.label:1",
        "--param",
        "2.connectivity=1",
        *me,
    )
    assert "segment.otsu v1 -> segment.label v1" in ok(cli_env, "workflow", "list", *me)
    bad = run(
        cli_env, "workflow", "create", "Bad", "--step", "segment.otsu:1", "--param", "1.bins=1", *me
    )
    assert bad.returncode == 1
    assert "parameter bins = 1 is below 2" in bad.stderr
    queued = ok(cli_env, "run", "submit", "Label", version_id, *me)
    run_id = re.search(r"queued run ([0-9a-f-]{36})", queued).group(1)
    worked = run(cli_env, "worker", "--burst", password=None)
    assert "execute_run" in worked.stderr, worked.stderr
    shown = ok(cli_env, "run", "show", run_id, *me)
    assert "status: succeeded" in shown
    assert "output labels:" in shown

    replayed = run(cli_env, "replay", run_id, "--inline", *me)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "IDENTICAL" in replayed.stdout
    assert "labels: identical" in replayed.stdout
    assert "stale run(s)" in ok(cli_env, "run", "reap", password=None)
