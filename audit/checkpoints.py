"""Signed checkpoints of the chain head, kept in the database and exported as text notes.

A checkpoint says "this chain (named by the hash of its first event) had N events and the
N-th hash was H, at time T", signed with Ed25519. Kept outside the database (a file, a
printout, WORM storage), it defeats a whole-chain rewrite and a truncated tail, which the
chain alone cannot reveal.

Note format (UTF-8 lines; the signature covers the body, i.e. every line before the blank
line, each ending in a newline)::

    ctvault audit checkpoint
    chain <sha256 of event 1>
    size <N>
    head <sha256 of event N>
    time <ISO 8601 UTC>

    — <key id> <base64 Ed25519 signature>
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from audit.chain import format_time
from audit.keys import key_id
from audit.models import AuditCheckpoint, AuditEvent
from audit.recorder import CHAIN_LOCK_KEY

HEADER = "ctvault audit checkpoint"
SIGNATURE_MARK = "\u2014 "


class CheckpointFormatError(ValueError):
    """A checkpoint note that cannot be parsed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed checkpoint note."""

    chain: str
    size: int
    head: str
    time: str
    key_id: str
    signature: bytes

    def body(self) -> bytes:
        """The signed bytes."""
        return _body(self.chain, self.size, self.head, self.time)

    def is_signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """True when the signature is valid under ``public_key`` and names its key id."""
        if self.key_id != key_id(public_key):
            return False
        try:
            public_key.verify(self.signature, self.body())
        except InvalidSignature:
            return False
        return True

    def note(self) -> str:
        """The text form to print or file away."""
        encoded = base64.b64encode(self.signature).decode("ascii")
        return f"{self.body().decode()}\n{SIGNATURE_MARK}{self.key_id} {encoded}\n"


def _body(chain: str, size: int, head: str, time: str) -> bytes:
    return f"{HEADER}\nchain {chain}\nsize {size}\nhead {head}\ntime {time}\n".encode()


def parse_note(note: str) -> Checkpoint:
    """Parse a checkpoint note.

    Raises:
        CheckpointFormatError: naming what is wrong.
    """
    lines = note.strip("\n").split("\n")
    expected_lines = 7
    if len(lines) != expected_lines or lines[0] != HEADER or lines[5] != "":
        raise CheckpointFormatError("not a ctvault audit checkpoint note")
    fields = {}
    for line, name in zip(lines[1:5], ("chain", "size", "head", "time"), strict=True):
        label, _, value = line.partition(" ")
        if label != name or not value:
            raise CheckpointFormatError(f"line {name!r} is missing or malformed")
        fields[name] = value
    if not lines[6].startswith(SIGNATURE_MARK):
        raise CheckpointFormatError("the signature line is missing")
    try:
        signer, encoded = lines[6].removeprefix(SIGNATURE_MARK).split(" ")
        signature = base64.b64decode(encoded, validate=True)
        size = int(fields["size"])
    except ValueError as exc:
        raise CheckpointFormatError(f"malformed checkpoint: {exc}") from exc
    return Checkpoint(fields["chain"], size, fields["head"], fields["time"], signer, signature)


def write_checkpoint(session: Session, private_key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head, store the checkpoint, and return it (None for an empty chain).

    Takes the chain lock so the head cannot move while it is read.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    if head is None:
        return None
    first = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 1)) or ""
    now: dt.datetime = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    time = format_time(now)
    signature = private_key.sign(_body(first, head.seq, head.hash, time))
    checkpoint = Checkpoint(
        first, head.seq, head.hash, time, key_id(private_key.public_key()), signature
    )
    session.add(
        AuditCheckpoint(
            seq=head.seq,
            head_hash=head.hash,
            key_id=checkpoint.key_id,
            signature=base64.b64encode(signature).decode("ascii"),
            note=checkpoint.note(),
        )
    )
    session.flush()
    return checkpoint


def stored_checkpoints(session: Session) -> list[Checkpoint]:
    """Every checkpoint kept in the database, oldest first (unparsable ones included as-is)."""
    notes = session.scalars(select(AuditCheckpoint.note).order_by(AuditCheckpoint.id))
    return [parse_note(note) for note in notes]
