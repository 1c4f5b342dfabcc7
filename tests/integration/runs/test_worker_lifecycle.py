"""Real worker processes: cancelling a run mid-job, and a killed worker's run being reaped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from lims.db.session import make_engine, make_session_factory
from lims.db.uow import UnitOfWork
from lims.models import DatasetVersion, RunResult, RunState
from processing.queues import run_job_id
from tests.integration.runs.test_commands import CTVAULT, ok, prepared_version

ME = ("--user", "mcurie", "--password-stdin")
# A median over the widest ball on a small volume: minutes of work, so the run is
# certainly still executing when the test acts on it.
SLOW_STEP = ("--step", "filter.median:1", "--param", "1.radius=20")


def _slow_run(env: dict[str, str], tmp_path: Path, database_url: str) -> str:
    version_id = prepared_version(env, database_url, tmp_path)
    ok(env, "workflow", "create", "Slow", *SLOW_STEP, *ME)
    queued = ok(env, "run", "submit", "Slow", version_id, *ME)
    return re.search(r"queued run ([0-9a-f-]{36})", queued).group(1)


def _status(database_url: str, run_id: str) -> str:
    engine = make_engine(database_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        status = uow.session.scalar(select(RunState.status).where(RunState.run_id == run_id))
    engine.dispose()
    return str(status)


def _wait_for(database_url: str, run_id: str, wanted: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        status = _status(database_url, run_id)
        if status == wanted:
            return
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} is {status}, not {wanted}, after {timeout_s} s")


@pytest.fixture
def start_worker(cli_env: dict[str, str]) -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*CTVAULT, "worker"],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _counts(database_url: str, run_id: str) -> tuple[int, list[str]]:
    engine = make_engine(database_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        versions = uow.session.scalar(select(func.count()).select_from(DatasetVersion)) or 0
        results = list(
            uow.session.scalars(select(RunResult.status).where(RunResult.run_id == run_id))
        )
    engine.dispose()
    return versions, results


@pytest.mark.req("P11-11")
def test_cancelling_a_running_run_stops_its_job_and_keeps_nothing(
    cli_env: dict[str, str], fresh_database_url: str, tmp_path: Path, start_worker
) -> None:
    run_id = _slow_run(cli_env, tmp_path, fresh_database_url)
    worker = start_worker()
    _wait_for(fresh_database_url, run_id, "running")

    ok(cli_env, "run", "cancel", run_id, "--reason", "wrong filter strength", *ME)

    assert _status(fresh_database_url, run_id) == "cancelled"
    redis = Redis.from_url(cli_env["REDIS_URL"])
    job = Job.fetch(run_job_id(uuid.UUID(run_id)), connection=redis, serializer=JSONSerializer)
    deadline = time.monotonic() + 30
    while job.get_status(refresh=True) == "started" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.get_status() != "started", "the job was stopped, not left computing"
    assert worker.poll() is None, "the worker itself goes on serving the queues"
    versions, results = _counts(fresh_database_url, run_id)
    assert versions == 1, "only the input version exists: no output was committed"
    assert results == ["cancelled"]


@pytest.mark.req("P11-11")
def test_a_killed_workers_run_is_failed_when_a_worker_starts(
    cli_env: dict[str, str], fresh_database_url: str, tmp_path: Path, start_worker
) -> None:
    run_id = _slow_run(cli_env, tmp_path, fresh_database_url)
    first = start_worker()
    _wait_for(fresh_database_url, run_id, "running")

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    second = start_worker()

    try:
        _wait_for(fresh_database_url, run_id, "failed", timeout_s=60)
    except AssertionError as missed:
        os.killpg(second.pid, signal.SIGTERM)
        raise AssertionError(f"{missed}; the new worker said: {second.communicate()[1]}") from None
    shown = ok(cli_env, "run", "show", run_id, *ME)
    assert "the worker stopped while executing this run" in shown
    versions, results = _counts(fresh_database_url, run_id)
    assert versions == 1
    assert results == ["failed"]
