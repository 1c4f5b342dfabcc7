"""Eight concurrent writers still produce one linear chain: no forks, no gaps."""

from __future__ import annotations

import threading

import psycopg2
import pytest
from sqlalchemy import func, select, text

from audit import Actor, AuditEvent, EventDraft, record
from audit.verify import verify_chain
from lims.db.session import make_engine, make_session_factory

WRITERS = 8
EVENTS_EACH = 25


@pytest.mark.req("P11-07", "AL-06", "AL-07")
def test_concurrent_writers_make_one_linear_chain(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url, role="ctvault_app", pool_size=WRITERS)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(EVENTS_EACH):
                with factory() as session:
                    record(
                        session,
                        Actor(None, f"writer {writer}"),
                        EventDraft("test.append", "writer", str(writer), {"i": [None, i]}),
                    )
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1)), "no gaps"
        forks = session.scalar(
            select(func.count()).select_from(
                select(AuditEvent.prev_hash)
                .group_by(AuditEvent.prev_hash)
                .having(func.count() > 1)
                .subquery()
            )
        )
        assert forks == 0, "no two events share a predecessor"
        report = verify_chain(session)
        assert report.is_ok
        assert report.count == WRITERS * EVENTS_EACH
        parallel = verify_chain(session, connect=lambda: psycopg2.connect(fresh_database_url))
        assert parallel == report
    engine.dispose()


@pytest.mark.req("P11-02")
@pytest.mark.parametrize("deleted", [1, 49, 50, 51, 99])  # the last one needs a checkpoint
def test_two_range_verification_finds_a_deletion_at_any_position(
    fresh_database_url: str, deleted: int
) -> None:
    engine = make_engine(fresh_database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        for i in range(100):
            record(session, Actor(None, "writer"), EventDraft("test.append", "t", str(i)))
        session.commit()
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable"))
        session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": deleted})
        session.execute(
            text("ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_immutable")
        )
        session.commit()
        report = verify_chain(session, connect=lambda: psycopg2.connect(fresh_database_url))
    engine.dispose()
    assert not report.is_ok
    assert report.first_break is not None
    assert report.first_break.seq == deleted
