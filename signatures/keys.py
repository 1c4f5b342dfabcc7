"""ctvault's Ed25519 signing keys: kept in the database, private halves encrypted at rest.

Each private key is stored as encrypted PKCS#8 PEM; the passphrase (the key-encryption key)
is a random secret in a file outside the database (``DATA_DIR/keys/signing-kek``, mode
0600), so a copy of the database alone cannot sign. Rotation adds a key; the newest key
signs, every older one stays to verify what it signed. Public keys export as JSON.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from audit.chain import canonical_json, format_time
from audit.keys import key_id, load_public_key, public_pem
from lims.errors import ConfigurationError
from lims.models import SigningKey

# Serialises the creation of the first key between concurrent signers.
_KEY_LOCK = 0x7369676E6B6579  # "signkey"


@dataclasses.dataclass(frozen=True, slots=True)
class ActiveKey:
    """The key that signs now."""

    key_id: str
    private_key: Ed25519PrivateKey


def load_or_create_kek(path: Path) -> bytes:
    """The key-encryption passphrase at ``path``, created (mode 0600) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii"))
    return path.read_bytes().strip()


def _create(session: Session, kek: bytes, *, created_by: str, reason: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    row = SigningKey(
        key_id=key_id(private.public_key()),
        public_pem=public_pem(private.public_key()).decode("ascii"),
        private_pem_encrypted=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(kek),
        ).decode("ascii"),
        reason=reason,
        created_by=created_by,
        # The wall clock, not the transaction's: a rotation inside the transaction that
        # made the first key still sorts after it.
        created_at=func.clock_timestamp(),
    )
    session.add(row)
    session.flush()
    return row


def _newest(session: Session) -> SigningKey | None:
    query = select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.key_id)
    return session.scalars(query.limit(1)).first()


def active_key(session: Session, kek: bytes, *, created_by: str) -> ActiveKey:
    """The newest key, decrypted; the first one is created on first use.

    Raises:
        ConfigurationError: the key-encryption key does not open the stored key.
    """
    row = _newest(session)
    if row is None:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEY_LOCK})
        row = _newest(session) or _create(
            session, kek, created_by=created_by, reason="first signing key"
        )
    try:
        loaded = serialization.load_pem_private_key(row.private_pem_encrypted.encode(), kek)
    except ValueError as exc:
        raise ConfigurationError(
            f"the signing key {row.key_id} cannot be decrypted with the key-encryption key "
            "in DATA_DIR/keys/signing-kek; restore that file from backup"
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"signing key {row.key_id} is not an Ed25519 key")
    return ActiveKey(row.key_id, loaded)


def rotate(session: Session, kek: bytes, *, created_by: str, reason: str) -> SigningKey:
    """Add a new key that signs from now on; older keys stay for verification."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEY_LOCK})
    return _create(session, kek, created_by=created_by, reason=reason)


def public_keys(session: Session) -> dict[str, Ed25519PublicKey]:
    """Every key's public half by key id."""
    rows = session.scalars(select(SigningKey))
    return {row.key_id: load_public_key(row.public_pem.encode()) for row in rows}


def export_public_keys(session: Session) -> str:
    """The public keys as canonical JSON, for verifying signatures offline."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.key_id))
    keys = [
        {
            "key_id": row.key_id,
            "algorithm": "Ed25519",
            "public_pem": row.public_pem,
            "created_at": format_time(row.created_at),
            "reason": row.reason,
        }
        for row in rows
    ]
    return canonical_json({"keys": keys})
