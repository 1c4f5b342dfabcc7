"""Check signatures against their seal, their row and their record's current content.

For each signature (§11.70): the Ed25519 seal over the manifest, the manifest against the
row's columns, and the record's content digest now against the one signed. A signature
whose signer withdrew it is intact but no longer counts: its status is ``withdrawn``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from lims.errors import UserError
from lims.models import Signature, SignatureWithdrawal
from signatures.keys import public_keys
from signatures.manifest import Manifest, parse_manifest
from signatures.registry import SignableRecord, get

VALID = "valid"
BROKEN = "broken"
WITHDRAWN = "withdrawn"


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one signature: valid, withdrawn, or broken with the reasons."""

    signature: Signature
    status: str
    problems: tuple[str, ...] = ()
    withdrawal: SignatureWithdrawal | None = None

    @property
    def ok(self) -> bool:
        """True when the signature still holds and counts."""
        return self.status == VALID

    @property
    def intact(self) -> bool:
        """True when seal, row and record agree (a withdrawn signature is intact)."""
        return self.status != BROKEN


def _row_manifest(row: Signature) -> str:
    return Manifest(
        signature_id=row.id,
        record_type=row.record_type,
        record_id=row.record_id,
        content_sha256=row.content_sha256,
        meaning=row.meaning,
        reason=row.reason,
        signer_id=row.signer_id,
        signer_username=row.signer_username,
        printed_name=row.printed_name,
        signed_at=row.signed_at,
        key_id=row.key_id,
    ).to_json()


def _seal_problems(row: Signature, keys: dict[str, Ed25519PublicKey]) -> list[str]:
    problems = []
    try:
        parse_manifest(row.manifest)
    except ValueError as exc:
        problems.append(f"manifest unreadable: {exc}")
    if row.manifest != _row_manifest(row):
        problems.append("signature row differs from its signed manifest")
    key = keys.get(row.key_id)
    if key is None:
        problems.append(f"unknown signing key {row.key_id}")
        return problems
    try:
        key.verify(base64.b64decode(row.signature, validate=True), row.manifest.encode("utf-8"))
    except (InvalidSignature, binascii.Error, ValueError):
        problems.append("Ed25519 signature does not match the manifest")
    return problems


def _load(session: Session, record_type: str, record_id: str) -> SignableRecord | str:
    try:
        record = get(record_type).load(session, record_id)
    except UserError as exc:
        return str(exc)
    return record if record is not None else f"{record_type} {record_id} no longer exists"


def verify_one(
    session: Session,
    row: Signature,
    keys: dict[str, Ed25519PublicKey],
    record: SignableRecord | str | None = None,
    withdrawal: SignatureWithdrawal | None = None,
) -> Verdict:
    """Verify one signature against the keys and the record as it is now.

    ``record`` is the record already loaded (or why it cannot be), to share between the
    signatures of one record; ``withdrawal`` its signer's withdrawal, if any.
    """
    problems = _seal_problems(row, keys)
    if record is None:
        record = _load(session, row.record_type, row.record_id)
    if isinstance(record, str):
        problems.append(record)
    elif record.digest != row.content_sha256:
        problems.append(
            f"the record's content changed since signing (now {record.digest[:12]}…, "
            f"signed {row.content_sha256[:12]}…)"
        )
    if problems:
        return Verdict(row, BROKEN, tuple(problems), withdrawal)
    return Verdict(row, VALID if withdrawal is None else WITHDRAWN, (), withdrawal)


def verify_signatures(session: Session, rows: Iterable[Signature]) -> Iterator[Verdict]:
    """Verify each of ``rows`` (each record is loaded once)."""
    rows = list(rows)
    keys = public_keys(session)
    found = select(SignatureWithdrawal).where(
        SignatureWithdrawal.signature_id.in_([row.id for row in rows])
    )
    withdrawals = {w.signature_id: w for w in session.scalars(found)}
    records: dict[tuple[str, str], SignableRecord | str] = {}
    for row in rows:
        key = (row.record_type, row.record_id)
        if key not in records:
            records[key] = _load(session, *key)
        yield verify_one(session, row, keys, records[key], withdrawals.get(row.id))


def verify_all(session: Session) -> Iterator[Verdict]:
    """Verify every signature, oldest first."""
    rows = session.scalars(select(Signature).order_by(Signature.signed_at, Signature.id))
    yield from verify_signatures(session, list(rows))


def signatures_of(session: Session, record_type: str, record_id: str) -> list[Signature]:
    """A record's signatures, oldest first."""
    query = select(Signature).where(
        Signature.record_type == record_type, Signature.record_id == record_id
    )
    return list(session.scalars(query.order_by(Signature.signed_at, Signature.id)))
