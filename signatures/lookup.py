"""Lookups shared by the record types: ids from strings, who signed a record."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from lims.models import Signature, SignatureWithdrawal


def parse_uuid(record_id: str) -> uuid.UUID | None:
    """The UUID a record id names, or None when it names none."""
    try:
        return uuid.UUID(record_id)
    except ValueError:
        return None


def signed_by(
    session: Session, record_type: str, record_id: str
) -> dict[str, frozenset[uuid.UUID]]:
    """Who has signed a record, by meaning (withdrawn signatures do not count)."""
    withdrawn = select(SignatureWithdrawal.signature_id).where(
        SignatureWithdrawal.signature_id == Signature.id
    )
    rows = session.execute(
        select(Signature.meaning, Signature.signer_id).where(
            Signature.record_type == record_type,
            Signature.record_id == record_id,
            ~withdrawn.exists(),
        )
    )
    found: dict[str, set[uuid.UUID]] = defaultdict(set)
    for meaning, signer in rows:
        found[meaning].add(signer)
    return {meaning: frozenset(ids) for meaning, ids in found.items()}
