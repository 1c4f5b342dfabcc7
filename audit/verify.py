"""Walk the whole chain and report the first broken link, checked against checkpoints.

The events are streamed with ``COPY … TO STDOUT`` (several times faster than a cursor) and,
when a connection factory is given, in two seq ranges on two connections at once; the ranges
are stitched together by checking the link across each boundary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import threading
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from audit.chain import GENESIS_HASH
from audit.checkpoints import Checkpoint

_COPY_SQL = (
    "COPY (SELECT seq, occurred_at AT TIME ZONE 'UTC', actor_id, actor_name, action,"
    " object_type, object_id, changes, reason, context, prev_hash, hash FROM audit_events"
    " WHERE seq BETWEEN {low:d} AND {high:d} ORDER BY seq) TO STDOUT"
)
_COPY_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\b": "\b", "\\f": "\f",
                 "\\v": "\v"}  # fmt: skip
_ESCAPE = re.compile(r"\\(.)")
_quote: Callable[[str], str] = encode_basestring


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
    connect: Callable[[], Any] | None = None,
    max_breaks: int = 50,
) -> ChainReport:
    """Re-hash every event in order and check links, sequence, time and checkpoints.

    Detects an edited field (hash mismatch), a deleted event (sequence gap and broken link),
    swapped or inserted events (hash and link mismatch), times running backwards, and, given
    checkpoints signed by one of ``public_keys``, a truncated tail or a rewritten chain.

    Args:
        session: reads the chain (on its own connection unless ``connect`` is given).
        checkpoints: signed checkpoints to hold the chain against.
        public_keys: the keys a checkpoint must be signed with.
        connect: a factory of new DB-API connections to committed data; given one, two seq
            ranges are verified at once.
        max_breaks: stop collecting problems after this many.
    """
    last_seq = session.execute(text("SELECT coalesce(max(seq), 0) FROM audit_events")).scalar()
    wanted = {c.size for c in checkpoints}
    if connect is None or not last_seq:
        dbapi = session.connection().connection.dbapi_connection
        segments = [_verify_range(dbapi, 1, int(last_seq or 0), wanted, max_breaks)]
    else:
        segments = _parallel(connect, int(last_seq), wanted, max_breaks)
    walk = _stitch(segments)
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
class _Segment(io.TextIOBase):
    """Receives the COPY stream of one seq range and checks it row by row."""

    low: int
    wanted: set[int]
    max_breaks: int
    count: int = 0
    expected_seq: int = 0
    first_seq: int = 0
    first_prev: str | None = None
    first_time: str = ""
    prev_hash: str = ""
    prev_time: str = ""
    first_hash: str = ""
    breaks: list[Break] = dataclasses.field(default_factory=list)
    hashes_at: dict[int, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.expected_seq = self.low

    def writable(self) -> bool:
        """COPY writes into this object."""
        return True

    def write(self, data: str) -> int:
        """Check every complete row in ``data`` (psycopg2 hands over whole rows)."""
        # Only "\n" ends a row: str.splitlines would also split on U+2028 inside a value.
        for line in data.split("\n"):
            if line:
                self._row(line.split("\t"))
        return len(data)

    def _row(self, fields: list[Any]) -> None:
        if any("\\" in f for f in fields):
            fields = [_unescape(f) for f in fields]
        seq_text, at, actor_id, actor_name, action, otype, oid, changes, reason, context, \
            stored_prev, stored_hash = fields  # fmt: skip
        seq = int(seq_text)
        when = _iso(at)
        if self.first_prev is None:
            self.first_seq, self.first_prev, self.first_time = seq, stored_prev, when
        elif len(self.breaks) < self.max_breaks:
            self._link(seq, stored_prev, when)
        if seq != self.expected_seq and self.count and len(self.breaks) < self.max_breaks:
            self.breaks.append(
                Break(
                    self.expected_seq,
                    f"events {self.expected_seq}..{seq - 1} are missing (deleted or renumbered)",
                )
            )
        line = (
            f'{{"action":{_quote(action)},"actor_id":'
            f"{'null' if actor_id is None else _quote(actor_id)},"
            f'"actor_name":{_quote(actor_name)},"changes":{changes},"context":{context},'
            f'"object_id":{_quote(oid)},"object_type":{_quote(otype)},"occurred_at":"{when}",'
            f'"prev_hash":"{stored_prev}","reason":{_quote(reason)},"seq":{seq}}}'
        )
        if hashlib.sha256(line.encode()).hexdigest() != stored_hash and (
            len(self.breaks) < self.max_breaks
        ):
            self.breaks.append(
                Break(seq, f"event {seq} was altered: its content does not match its hash")
            )
        if seq == 1:
            self.first_hash = stored_hash
        if seq in self.wanted:
            self.hashes_at[seq] = stored_hash
        self.expected_seq, self.prev_hash, self.prev_time = seq + 1, stored_hash, when
        self.count += 1

    def _link(self, seq: int, stored_prev: str, when: str) -> None:
        if stored_prev != self.prev_hash:
            self.breaks.append(
                Break(
                    seq,
                    f"event {seq} does not link to the event before it "
                    "(inserted, deleted or reordered events)",
                )
            )
        if when < self.prev_time:
            self.breaks.append(Break(seq, f"event {seq} is dated before the event before it"))


def _unescape(field: str) -> Any:  # noqa: ANN401 - str, or None for SQL NULL
    if field == "\\N":
        return None
    return _ESCAPE.sub(lambda match: _COPY_ESCAPES.get(match.group(0), match.group(1)), field)


def _iso(text_time: str) -> str:
    """``2026-11-27 22:05:48.1234`` (COPY text) -> ``2026-11-27T22:05:48.123400+00:00``."""
    day, _, clock = text_time.partition(" ")
    whole, _, fraction = clock.partition(".")
    return f"{day}T{whole}.{fraction.ljust(6, '0')}+00:00"


def _verify_range(
    dbapi: Any,  # noqa: ANN401 - a DB-API connection (psycopg2)
    low: int,
    high: int,
    wanted: set[int],
    max_breaks: int,
) -> _Segment:
    segment = _Segment(low=low, wanted=wanted, max_breaks=max_breaks)
    with dbapi.cursor() as cursor:
        cursor.execute("SET DateStyle TO ISO")
        cursor.copy_expert(_COPY_SQL.format(low=low, high=high), segment)
    return segment


def _parallel(
    connect: Callable[[], Any], last_seq: int, wanted: set[int], max_breaks: int
) -> list[_Segment]:
    middle = last_seq // 2
    bounds = [(1, middle), (middle + 1, last_seq)] if middle else [(1, last_seq)]
    results: dict[int, _Segment] = {}
    failures: list[BaseException] = []

    def run(index: int, low: int, high: int) -> None:
        connection = connect()
        try:
            results[index] = _verify_range(connection, low, high, wanted, max_breaks)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, lo, hi)) for i, (lo, hi) in enumerate(bounds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [results[i] for i in range(len(bounds))]


@dataclasses.dataclass
class _Walk:
    count: int = 0
    head_hash: str = GENESIS_HASH
    first_hash: str = ""
    last_seq: int = 0
    breaks: list[Break] = dataclasses.field(default_factory=list)
    hashes_at: dict[int, str] = dataclasses.field(default_factory=dict)


def _stitch(segments: list[_Segment]) -> _Walk:
    walk = _Walk()
    prev_hash, prev_time, expected = GENESIS_HASH, "", 1
    for segment in segments:
        if segment.count:
            first = segment.first_seq
            if first != expected:
                walk.breaks.append(
                    Break(
                        expected,
                        f"events {expected}..{first - 1} are missing (deleted or renumbered)",
                    )
                )
            if segment.first_prev != prev_hash:
                walk.breaks.append(
                    Break(
                        first,
                        f"event {first} does not link to the event "
                        "before it (inserted, deleted or reordered events)",
                    )
                )
            if segment.first_time < prev_time:
                walk.breaks.append(
                    Break(first, f"event {first} is dated before the event before it")
                )
            prev_hash, prev_time = segment.prev_hash, segment.prev_time
            expected = segment.expected_seq
        walk.breaks.extend(segment.breaks)
        walk.hashes_at.update(segment.hashes_at)
        walk.count += segment.count
        walk.first_hash = walk.first_hash or segment.first_hash
    walk.head_hash = prev_hash
    walk.last_seq = expected - 1
    return walk


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
