"""Walk the whole chain and report the first broken link, checked against checkpoints."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from audit.chain import GENESIS_HASH
from audit.checkpoints import Checkpoint

BATCH_ROWS = 20_000
_TIME_SQL = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
# The server assembles each event's canonical line (PostgreSQL's to_json escapes strings
# exactly as Python's json module with ensure_ascii=False does) and Python hashes it. A wrong
# line can only raise a false alarm, never hide a change: the hash covers the exact bytes.
_LINE_SQL = (
    """'{"action":' || to_json(action)::text"""
    """ || ',"actor_id":' || coalesce(to_json(actor_id::text)::text, 'null')"""
    """ || ',"actor_name":' || to_json(actor_name)::text"""
    """ || ',"changes":' || changes || ',"context":' || context"""
    """ || ',"object_id":' || to_json(object_id)::text"""
    """ || ',"object_type":' || to_json(object_type)::text"""
    f""" || ',"occurred_at":"' || {_TIME_SQL}"""
    """ || '","prev_hash":"' || prev_hash"""
    """ || '","reason":' || to_json(reason)::text"""
    """ || ',"seq":' || seq::text || '}'"""
)
_ROWS_SQL = f"SELECT seq, prev_hash, hash, {_TIME_SQL}, {_LINE_SQL} FROM audit_events ORDER BY seq"  # noqa: S608 - constant text


@dataclasses.dataclass(frozen=True, slots=True)
class Break:
    """One place where the trail is not what it claims to be."""

    seq: int
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of verifying the chain."""

    count: int
    head_hash: str
    first_hash: str
    breaks: tuple[Break, ...]
    checkpoints_checked: int

    @property
    def is_ok(self) -> bool:
        """True when every link and every checkpoint holds."""
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        """The earliest problem found, if any."""
        return min(self.breaks, key=lambda b: b.seq) if self.breaks else None


def verify_chain(
    session: Session,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    public_keys: Sequence[Ed25519PublicKey] = (),
    progress: Callable[[int], None] | None = None,
    max_breaks: int = 50,
) -> ChainReport:
    """Re-hash every event in order and check links, sequence, time and checkpoints.

    Detects an edited field (hash mismatch), a deleted event (sequence gap and broken link),
    swapped or inserted events (hash and link mismatch), times running backwards, and, given
    checkpoints signed by one of ``public_keys``, a truncated tail or a rewritten chain.
    """
    walk = _walk(_rows(session), {c.size for c in checkpoints}, progress, max_breaks)
    breaks = list(walk.breaks)
    for index, checkpoint in enumerate(checkpoints, start=1):
        problem = _check_checkpoint(checkpoint, walk, public_keys)
        if problem is not None:
            breaks.append(Break(checkpoint.size, f"checkpoint {index}: {problem}"))
    return ChainReport(
        count=walk.count,
        head_hash=walk.head_hash,
        first_hash=walk.first_hash,
        breaks=tuple(sorted(breaks, key=lambda b: b.seq)),
        checkpoints_checked=len(checkpoints),
    )


@dataclasses.dataclass
class _Walk:
    count: int = 0
    head_hash: str = GENESIS_HASH
    first_hash: str = ""
    breaks: list[Break] = dataclasses.field(default_factory=list)
    last_seq: int = 0
    hashes_at: dict[int, str] = dataclasses.field(default_factory=dict)


def _rows(session: Session) -> Iterable[tuple[Any, ...]]:
    dbapi = session.connection().connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a live session always has one
        raise RuntimeError("no database connection")
    # A named (server-side) cursor streams the rows instead of loading the whole trail.
    cursor: Any = dbapi.cursor(name="ctvault_audit_verify")
    cursor.itersize = BATCH_ROWS
    try:
        cursor.execute(_ROWS_SQL)
        yield from cursor
    finally:
        cursor.close()


def _walk(
    rows: Iterable[tuple[Any, ...]],
    wanted: set[int],
    progress: Callable[[int], None] | None,
    max_breaks: int,
) -> _Walk:
    state = _Walk()
    expected_seq, prev_hash, prev_time = 1, GENESIS_HASH, ""
    breaks = state.breaks
    sha256 = hashlib.sha256
    for seq, stored_prev, stored_hash, occurred_at, line in rows:
        if len(breaks) < max_breaks:
            if seq != expected_seq:
                breaks.append(
                    Break(
                        expected_seq,
                        f"events {expected_seq}..{seq - 1} are missing (deleted or renumbered)",
                    )
                )
            if stored_prev != prev_hash:
                breaks.append(
                    Break(
                        seq,
                        f"event {seq} does not link to the event before it "
                        "(inserted, deleted or reordered events)",
                    )
                )
            if sha256(line.encode()).hexdigest() != stored_hash:
                breaks.append(
                    Break(seq, f"event {seq} was altered: its content does not match its hash")
                )
            if occurred_at < prev_time:
                breaks.append(Break(seq, f"event {seq} is dated before the event before it"))
        if seq == 1:
            state.first_hash = stored_hash
        if seq in wanted:
            state.hashes_at[seq] = stored_hash
        expected_seq, prev_hash, prev_time = seq + 1, stored_hash, occurred_at
        state.count += 1
        if progress is not None and state.count % 10_000 == 0:
            progress(10_000)
    state.head_hash = prev_hash
    state.last_seq = expected_seq - 1
    return state


def _check_checkpoint(
    checkpoint: Checkpoint, walk: _Walk, public_keys: Sequence[Ed25519PublicKey]
) -> str | None:
    if not any(checkpoint.is_signed_by(key) for key in public_keys):
        return f"signature by key {checkpoint.key_id} is not valid under any trusted key"
    if checkpoint.chain != walk.first_hash:
        return "it belongs to another chain, or event 1 was rewritten"
    if checkpoint.size > walk.last_seq:
        return (
            f"the chain was truncated: the checkpoint of {checkpoint.time} vouches for "
            f"{checkpoint.size} events, the database ends at {walk.last_seq}"
        )
    if walk.hashes_at.get(checkpoint.size) != checkpoint.head:
        return (
            f"event {checkpoint.size} differs from the signed checkpoint of "
            f"{checkpoint.time} (history was rewritten)"
        )
    return None
