"""The signature manifestations of a record, in signing order, as reports print them.

Every signature of the record is listed with the printed name captured at signing, the
date and time with its zone, and the meaning (P11-20, P11-21); a withdrawn one also says
when, by whom and why it was withdrawn (P11-22).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.chain import format_time
from lims.models import Signature, SignatureWithdrawal
from reports.content import SignatureLine


def signature_lines(
    session: Session, record_type: str, record_id: str
) -> tuple[SignatureLine, ...]:
    """Every signature of one record, oldest first."""
    rows = session.execute(
        select(Signature, SignatureWithdrawal)
        .outerjoin(SignatureWithdrawal, SignatureWithdrawal.signature_id == Signature.id)
        .where(Signature.record_type == record_type, Signature.record_id == record_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return tuple(
        SignatureLine(
            row.printed_name,
            format_time(row.signed_at),
            row.meaning,
            str(row.id),
            _withdrawn(withdrawal),
        )
        for row, withdrawal in rows
    )


def _withdrawn(withdrawal: SignatureWithdrawal | None) -> str:
    if withdrawal is None:
        return ""
    when = format_time(withdrawal.withdrawn_at)
    return f"{when} by {withdrawal.printed_name}: {withdrawal.reason}"
