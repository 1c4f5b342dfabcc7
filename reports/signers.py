"""The signature manifestations of a record, in signing order, as reports print them.

Every signature of the record is listed (printed name captured at signing, date and time
with its zone, meaning; P11-20, P11-21). Reads the ``signatures`` table of the signatures
package by its columns, so reports do not depend on how signing itself is implemented.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from audit.chain import format_time
from reports.content import SignatureLine

_QUERY = text(
    "SELECT id, printed_name, signed_at, meaning FROM signatures "
    "WHERE record_type = :record_type AND record_id = :record_id ORDER BY signed_at, id"
)


def signature_lines(
    session: Session, record_type: str, record_id: str
) -> tuple[SignatureLine, ...]:
    """Every signature of one record, oldest first (none before signatures exist)."""
    if session.scalar(text("SELECT to_regclass('signatures')")) is None:
        return ()
    rows = session.execute(_QUERY, {"record_type": record_type, "record_id": record_id})
    return tuple(
        SignatureLine(row.printed_name, format_time(row.signed_at), row.meaning, str(row.id))
        for row in rows
    )
