"""Tamper drills: a superuser edits, deletes, swaps, forges or truncates; verify notices."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from audit import Actor, AuditEvent, EventDraft, record
from audit.chain import event_hash, format_time
from audit.checkpoints import parse_note, write_checkpoint
from audit.verify import ChainReport, verify_chain
from lims.db.uow import UnitOfWork
from tests.conftest import as_owner

KEY = Ed25519PrivateKey.generate()


def _events(session: Session, count: int) -> None:
    actor = Actor(None, "Test Bot", {"via": "test"})
    for i in range(count):
        record(
            session,
            actor,
            EventDraft("thing.change", "thing", str(i), {"value": [i, i + 1]}, reason=f"step {i}"),
        )


def _verify(session: Session, *, with_checkpoints: bool = False) -> ChainReport:
    from audit.checkpoints import stored_checkpoints

    checkpoints = stored_checkpoints(session) if with_checkpoints else []
    return verify_chain(session, checkpoints=checkpoints, public_keys=[KEY.public_key()])


@pytest.fixture
def session(uow: UnitOfWork) -> Session:
    base = uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    assert base == 0
    _events(uow.session, 10)
    return uow.session


def _tamper(session: Session, sql: str) -> None:
    with as_owner(session):
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable"))
        session.execute(text(sql))
        session.execute(
            text("ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_immutable")
        )


@pytest.mark.req("P11-07", "AL-07")
def test_intact_chain_verifies(session: Session) -> None:
    report = _verify(session)
    assert report.is_ok
    assert report.count == 10
    assert report.head_hash == session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 10))


@pytest.mark.req("P11-02")
def test_edited_field_is_detected(session: Session) -> None:
    _tamper(session, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 4")
    report = _verify(session)
    assert report.first_break is not None
    assert report.first_break.seq == 4
    assert "altered" in report.first_break.reason


@pytest.mark.req("P11-02", "AL-06")
def test_deleted_event_is_detected(session: Session) -> None:
    _tamper(session, "DELETE FROM audit_events WHERE seq = 6")
    report = _verify(session)
    assert report.first_break is not None
    assert report.first_break.seq == 6
    assert "missing" in report.first_break.reason


@pytest.mark.req("P11-02")
def test_swapped_events_are_detected(session: Session) -> None:
    _tamper(session, "UPDATE audit_events SET seq = 1003 WHERE seq = 3")
    _tamper(session, "UPDATE audit_events SET seq = 3 WHERE seq = 5")
    _tamper(session, "UPDATE audit_events SET seq = 5 WHERE seq = 1003")
    report = _verify(session)
    assert report.first_break is not None
    assert report.first_break.seq == 3


@pytest.mark.req("P11-02")
def test_inserted_forged_event_is_detected(session: Session) -> None:
    # The forger shifts later events up by one and computes a valid hash for the forgery.
    prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 4))
    fields = {
        "seq": 5,
        "occurred_at": format_time(session.scalar(select(func.now()))),
        "actor_id": None,
        "actor_name": "Forger",
        "action": "thing.change",
        "object_type": "thing",
        "object_id": "x",
        "changes": {},
        "reason": "",
        "context": {},
        "prev_hash": prev,
    }
    _tamper(session, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
    _tamper(session, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    with as_owner(session):
        session.execute(
            text(
                "INSERT INTO audit_events (seq, occurred_at, actor_name, action, object_type,"
                " object_id, changes, reason, context, prev_hash, hash) VALUES (5, now(),"
                " 'Forger', 'thing.change', 'thing', 'x', '{}', '', '{}', :prev, :hash)"
            ),
            {"prev": prev, "hash": event_hash(fields)},
        )
    report = _verify(session)
    assert not report.is_ok
    assert report.first_break is not None
    assert report.first_break.seq in {5, 6}


@pytest.mark.req("P11-02", "P11-10")
def test_truncated_tail_is_detected_by_a_signed_checkpoint(session: Session) -> None:
    write_checkpoint(session, KEY)
    assert _verify(session, with_checkpoints=True).is_ok
    _tamper(session, "DELETE FROM audit_events WHERE seq >= 9")
    report = _verify(session, with_checkpoints=True)
    assert not report.is_ok
    assert any("truncated" in b.reason for b in report.breaks)
    assert _verify(session).is_ok, "without the checkpoint a cut tail is invisible"


@pytest.mark.req("P11-02")
def test_whole_chain_rewrite_passes_db_check_but_fails_against_checkpoint(
    session: Session,
) -> None:
    checkpoint = write_checkpoint(session, KEY)
    assert checkpoint is not None
    kept_outside = checkpoint.note()
    # As superuser: edit event 2 and recompute every later hash so the chain is consistent.
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    prev = "0" * 64
    updates = []
    for row in rows:
        fields = {
            "seq": row.seq,
            "occurred_at": format_time(row.occurred_at),
            "actor_id": None,
            "actor_name": row.actor_name,
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "changes": __import__("json").loads(row.changes),
            "reason": "rewritten" if row.seq == 2 else row.reason,
            "context": __import__("json").loads(row.context),
            "prev_hash": prev,
        }
        prev = event_hash(fields)
        updates.append((row.seq, fields["reason"], fields["prev_hash"], prev))
    session.expunge_all()
    for seq, reason, prev_hash, new_hash in updates:
        _tamper(
            session,
            f"UPDATE audit_events SET reason = '{reason}', prev_hash = "
            f"'{prev_hash}', hash = '{new_hash}' WHERE seq = {seq}",
        )
    assert _verify(session).is_ok, "a self-consistent rewrite fools a DB-only check"
    report = verify_chain(
        session, checkpoints=[parse_note(kept_outside)], public_keys=[KEY.public_key()]
    )
    assert not report.is_ok
    assert "rewritten" in report.breaks[0].reason or "another chain" in report.breaks[0].reason


@pytest.mark.req("P11-02")
def test_forged_checkpoint_signature_is_refused(session: Session) -> None:
    write_checkpoint(session, KEY)
    other = Ed25519PrivateKey.generate()
    forged = write_checkpoint(session, other)
    assert forged is not None
    report = verify_chain(session, checkpoints=[forged], public_keys=[KEY.public_key()])
    assert not report.is_ok
    assert "not valid under any trusted key" in report.breaks[0].reason


@pytest.mark.req("P11-07")
def test_rolled_back_transaction_leaves_no_event(uow: UnitOfWork) -> None:
    session = uow.session
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    nested = session.begin_nested()
    _events(session, 3)
    nested.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


TRICKY = [
    "plain",
    'quote " and \\ backslash',
    "tab\tnew\nline\r",
    "ctrl \x01\x1f",
    "Zoë 測試 🙂",
    "\u2028 line separator",
    "del \x7f",
    "</script>",
    "",
]


@pytest.mark.req("P11-07")
@pytest.mark.parametrize("value", TRICKY)
def test_server_built_line_matches_the_reference_encoding(uow: UnitOfWork, value: str) -> None:
    session = uow.session
    record(
        session,
        Actor(None, value, {"ua": value}),
        EventDraft(value or "x", value, value, {value: [value, None]}, reason=value),
    )
    report = verify_chain(session)
    assert report.is_ok, report.breaks
