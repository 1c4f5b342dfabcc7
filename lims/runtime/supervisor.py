"""Process supervision for ``ctvault serve``: web server thread, worker child, clean stop.

The embedded default runs one process tree: ``ctvault serve`` serves HTTP from a threaded
WSGI server in a background thread and keeps one ``ctvault worker`` child alive (restarted
with a back-off if it dies). SIGINT (Ctrl-C) and SIGTERM stop the web server, then the worker
(SIGTERM: RQ finishes the current job; SIGKILL after a grace period), then the caller stops
the embedded servers. The worker runs in its own session so a Ctrl-C in the terminal reaches
only ``serve``, which stops it in order; on Linux it also dies with ``serve`` if ``serve`` is
killed outright.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, get_sockaddr, make_server, select_address_family

from lims.errors import ConfigurationError

WORKER_STOP_GRACE_S = 20.0
_RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_PR_SET_PDEATHSIG = 1
_log = logging.getLogger(__name__)


def _starting_app(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answer 503 while the real application is being built."""
    del environ
    start_response(
        "503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "5")]
    )
    return [b"ctvault is starting\n"]


def bind_web_server(host: str, port: int) -> BaseWSGIServer:
    """Bind the listening socket now, so a taken port fails before anything starts.

    The server answers 503 until :meth:`Supervisor.serve` installs the application. The
    socket is bound here rather than by werkzeug, which prints a paragraph and exits.

    Raises:
        ConfigurationError: the address is in use or cannot be bound (one-line message).
    """
    family = select_address_family(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(get_sockaddr(host, port, family))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is already in use (another ctvault?); "
                "stop it or set CTVAULT_PORT to a free port"
            ) from exc
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        return make_server(host, port, _starting_app, threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # werkzeug works on its own duplicate of the socket


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``overrides``, for a child process."""
    env = dict(os.environ)  # noqa: TID251 - passed through unread to the child
    env.update(overrides)
    return env


def worker_command(parent_pid: int) -> list[str]:
    """The command line of the ``ctvault worker`` child of ``serve``."""
    bootstrap = "import sys; sys.argv[0] = 'ctvault'; from lims.cli import main; main()"
    return [sys.executable, "-c", bootstrap, "worker", "--parent-pid", str(parent_pid)]


def exit_with_parent(parent_pid: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies; exit now if it already has."""
    library = ctypes.util.find_library("c")
    if library is not None and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(library, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:
        raise SystemExit(0)


class ChildProcess:
    """One supervised child process, restarted with a back-off when it dies."""

    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self._command = list(command)
        self._env = dict(env)
        self._process: subprocess.Popen[bytes] | None = None
        self._failures = 0
        self._next_start = 0.0
        self._started_at = 0.0

    @property
    def pid(self) -> int | None:
        """The pid of the running child, if any."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child in its own session (terminal signals go to ``serve`` only)."""
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self._command, env=self._env, start_new_session=True
        )
        self._started_at = time.monotonic()

    def check(self) -> None:
        """Restart the child if it exited (with a growing delay if it keeps failing)."""
        if self._process is None or self._process.poll() is None:
            return
        now = time.monotonic()
        if self._next_start == 0.0:
            ran_s = now - self._started_at
            self._failures = 0 if ran_s > max(_RESTART_BACKOFF_S) else self._failures + 1
            delay = _RESTART_BACKOFF_S[min(self._failures, len(_RESTART_BACKOFF_S) - 1)]
            _log.warning(
                "%s exited with code %s; restarting in %.0f s",
                self.name,
                self._process.returncode,
                delay,
            )
            self._next_start = now + delay
        if now >= self._next_start:
            self._next_start = 0.0
            self.start()

    def stop(self, grace_s: float = WORKER_STOP_GRACE_S) -> None:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL; reap the child."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            _log.warning("%s did not stop within %.0f s; killing it", self.name, grace_s)
            process.kill()
            process.wait()


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """SIGINT or SIGTERM arrived while ``serve`` was starting."""


class Supervisor:
    """Signal handling and the serve loop of one ``ctvault serve`` process."""

    def __init__(self) -> None:
        self._phase = "starting"
        self._stop_requested = False

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM inside the block; restore the old handlers after."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def begin_stop(self) -> None:
        """From now on SIGINT/SIGTERM only say "please wait": the cleanup runs to its end."""
        self._phase = "stopping"

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        if self._phase == "stopping":
            # not logging or print: both take locks the interrupted code may hold
            os.write(sys.stderr.fileno(), b"ctvault is stopping, please wait\n")
            return
        self._stop_requested = True
        if self._phase == "starting":
            raise StopRequested(signal.Signals(signum).name)

    def serve(
        self,
        server: BaseWSGIServer,
        app: Callable[..., Any],
        children: Sequence[ChildProcess],
        on_ready: Callable[[], None],
    ) -> None:
        """Serve ``app`` on ``server`` and keep ``children`` alive until a stop signal.

        Stops the web server and then the children before returning.
        """
        server.app = app
        thread = threading.Thread(target=server.serve_forever, name="wsgi", daemon=True)
        try:
            for child in children:
                child.start()
            thread.start()
            self._phase = "serving"
            on_ready()
            while not self._stop_requested:
                time.sleep(0.2)
                for child in children:
                    child.check()
        finally:
            self._phase = "stopping"
            if thread.is_alive():
                server.shutdown()
                thread.join(10)
            server.server_close()
            for child in children:
                child.stop()
