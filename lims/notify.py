"""E-mail notifications: SMTP when configured, else .eml files in DATA_DIR/outbox."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Sequence
from email.message import EmailMessage

from lims.settings import Settings

_log = logging.getLogger(__name__)


def send_mail(settings: Settings, recipients: Sequence[str], subject: str, body: str) -> None:
    """Send one plain-text message; never raises (a notification must not undo a change)."""
    to = sorted({r for r in recipients if r})
    if not to:
        _log.warning("no recipient for notification %r", subject)
        return
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"[ctvault] {subject}"
    message.set_content(body)
    try:
        if settings.smtp_host:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)
        else:
            outbox = settings.data_dir / "outbox"
            outbox.mkdir(parents=True, exist_ok=True)
            (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(message.as_bytes())
    except OSError:
        _log.exception("could not send notification %r to %s", subject, to)
