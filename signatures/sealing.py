"""Write one signature: manifest from the database clock, Ed25519 seal, immutable row."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lims.auth.identity import Identity
from lims.models import Signature
from signatures.keys import active_key
from signatures.manifest import Manifest
from signatures.registry import SignableRecord


def seal(
    session: Session,
    kek: bytes,
    record: SignableRecord,
    identity: Identity,
    *,
    meaning: str,
    reason: str = "",
) -> Signature:
    """Sign ``record``'s current digest for ``identity`` and insert the signature row.

    The caller has re-authenticated the person and checked role and state; this function
    only binds and stores. The time is the database clock's at this statement (one clock for all).
    """
    signed_at: dt.datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    key = active_key(session, kek, created_by="system:signatures")
    manifest = Manifest(
        signature_id=uuid.uuid4(),
        record_type=record.record_type,
        record_id=record.record_id,
        content_sha256=record.digest,
        meaning=meaning,
        reason=reason,
        signer_id=identity.user_id,
        signer_username=identity.username,
        printed_name=identity.printed_name,
        signed_at=signed_at,
        key_id=key.key_id,
    )
    text = manifest.to_json()
    row = Signature(
        id=manifest.signature_id,
        record_type=manifest.record_type,
        record_id=manifest.record_id,
        content_sha256=manifest.content_sha256,
        meaning=meaning,
        reason=reason,
        signer_id=identity.user_id,
        signer_username=identity.username,
        printed_name=identity.printed_name,
        signed_at=signed_at,
        key_id=key.key_id,
        manifest=text,
        signature=base64.b64encode(key.private_key.sign(text.encode("utf-8"))).decode("ascii"),
    )
    session.add(row)
    session.flush()
    return row
