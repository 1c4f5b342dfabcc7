"""The lab's logo for report headers (``CTVAULT_REPORT_LOGO``): a readable PNG or JPEG."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from lims.errors import UserError

FORMATS = ("PNG", "JPEG")


def check_logo(path: Path) -> bytes:
    """The logo's bytes.

    Raises:
        UserError: the file is missing, unreadable, or not a PNG or JPEG image.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the report logo {path}: {exc.strerror or exc}") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        kind = None
    if kind not in FORMATS:
        raise UserError(f"the report logo {path} is not a PNG or JPEG image")
    return data
