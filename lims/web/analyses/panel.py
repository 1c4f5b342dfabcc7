"""The signature panel's data: a record's signatures, verified now (a template global)."""

from __future__ import annotations

from lims.services import signing
from lims.web import context
from signatures.verify import Verdict


def signatures_for(record_type: str, record_id: object) -> list[Verdict]:
    """Signatures of a record for ``_signatures.html``; empty for an anonymous visitor."""
    if context.identity() is None:
        return []
    return signing.record_signatures(context.service_context(), record_type, str(record_id))


def sign_options(record_type: str, record_id: object) -> list[str]:
    """The meanings the current user may sign the record with now."""
    if context.identity() is None:
        return []
    return signing.allowed_meanings(context.service_context(), record_type, str(record_id))
