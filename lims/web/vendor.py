"""``/vendor/<path>``: front-end libraries installed by npm, served from ``node_modules``.

Library code is never copied into the repository: ``npm install`` at the repository root
puts it in ``node_modules`` (or ``CTVAULT_VENDOR_DIR`` points elsewhere) and this blueprint
serves it read-only.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from lims.settings import Settings
from lims.web.auth.guard import public

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_SECONDS = 24 * 3600


def vendor_root(settings: Settings) -> Path:
    """The folder served under ``/vendor``: the setting, or the checkout's ``node_modules``."""
    return settings.vendor_dir or REPO_ROOT / "node_modules"


def make_blueprint(settings: Settings) -> Blueprint:
    """A blueprint serving files below the vendor folder (path traversal is refused)."""
    blueprint = Blueprint("vendor", __name__)
    root = vendor_root(settings)

    @blueprint.get("/vendor/<path:filename>")
    @public
    def file(filename: str) -> Response:
        """One file of an npm package, e.g. ``htmx.org/dist/htmx.min.js``."""
        return send_from_directory(root, filename, max_age=CACHE_SECONDS)

    return blueprint
