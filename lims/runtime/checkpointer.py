"""A background thread that signs an audit checkpoint at a fixed interval and at shutdown."""

from __future__ import annotations

import logging
import threading

from lims.runtime.resources import Resources
from lims.services.audit_trail import checkpoint_now

_log = logging.getLogger(__name__)


class Checkpointer:
    """Writes a signed checkpoint of the audit chain every ``interval_min`` minutes."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)

    def start(self) -> None:
        """Begin checkpointing in the background."""
        if self._resources.settings.checkpoint_interval_min > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write one last checkpoint, so a clean stop is anchored."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.write_once()

    def write_once(self) -> None:
        """Write one checkpoint now; failures are logged, never raised into the server."""
        try:
            with self._resources.unit_of_work() as uow:
                checkpoint = checkpoint_now(uow, self._resources.settings)
        except Exception:  # noqa: BLE001 - the web server must keep running; it is logged
            _log.exception("could not write an audit checkpoint")
            return
        if checkpoint is not None:
            _log.info("audit checkpoint: %d events, head %s", checkpoint.size, checkpoint.head)

    def _run(self) -> None:
        interval_s = self._resources.settings.checkpoint_interval_min * 60
        while not self._stop.wait(interval_s):
            self.write_once()
