"""Upload size limit from the settings."""

from __future__ import annotations

from lims.settings import Settings

BYTES_PER_GB = 1_000_000_000


def max_upload_bytes(settings: Settings) -> int:
    """The largest browser upload accepted (``max_upload_gb``, decimal GB)."""
    return int(settings.max_upload_gb * BYTES_PER_GB)
