"""Audit trail benchmark: append throughput (1 and 8 writers) and verification of 1M events.

Usage: .venv/bin/python bench/audit.py [--server-url URL] [--events 1000000] [--appends 2000]

Creates a scratch database on the server (default: the local PostgreSQL on 127.0.0.1:5432),
migrates it, measures, and drops it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `audit` package it measures; keep its folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import argparse
import datetime as dt
import io
import platform
import threading
import time
import uuid

import psycopg2
from sqlalchemy import text

from audit import Actor, EventDraft, record
from audit.chain import GENESIS_HASH, canonical_json, event_hash, format_time
from audit.verify import verify_chain
from lims.db.migrate import upgrade
from lims.db.session import make_engine, make_session_factory


def _append(url: str, writers: int, total: int) -> float:
    engine = make_engine(url, role="ctvault_app", pool_size=writers)
    factory = make_session_factory(engine)
    each = total // writers

    def work(writer: int) -> None:
        actor = Actor(None, f"bench writer {writer}", {"via": "bench"})
        for i in range(each):
            with factory() as session:
                record(
                    session,
                    actor,
                    EventDraft(
                        "bench.append", "bench", str(i), {"value": [i, i + 1]}, reason="bench"
                    ),
                )
                session.commit()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return each * writers / elapsed


def _bulk_chain(url: str, count: int) -> None:
    """Write a valid chain of ``count`` events quickly with COPY (as the owner)."""
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(seq), 0), "
            "coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '')"
            " FROM audit_events"
        )
        start, prev = cursor.fetchone()
        prev = prev or GENESIS_HASH
        base = dt.datetime.now(dt.UTC)
        batch = io.StringIO()
        actor = str(uuid.uuid4())
        for seq in range(start + 1, start + count + 1):
            changes = {"name": [f"old {seq}", f"new {seq}"]}
            context = {"ip": "127.0.0.1", "via": "web"}
            fields = {
                "seq": seq,
                "occurred_at": format_time(base + dt.timedelta(microseconds=seq)),
                "actor_id": actor,
                "actor_name": "Bench User (bench)",
                "action": "sample.update",
                "object_type": "sample",
                "object_id": str(seq),
                "changes": changes,
                "reason": "benchmark",
                "context": context,
                "prev_hash": prev,
            }
            digest = event_hash(fields)
            row = [
                str(seq),
                fields["occurred_at"],
                actor,
                "Bench User (bench)",
                "sample.update",
                "sample",
                str(seq),
                canonical_json(changes),
                "benchmark",
                canonical_json(context),
                prev,
                digest,
            ]
            batch.write("\t".join(v.replace("\\", "\\\\") for v in row) + "\n")
            prev = digest
            if seq % 100_000 == 0 or seq == start + count:
                batch.seek(0)
                cursor.copy_expert(
                    "COPY audit_events (seq, occurred_at, actor_id, actor_name, action,"
                    " object_type, object_id, changes, reason, context, prev_hash, hash)"
                    " FROM STDIN",
                    batch,
                )
                batch = io.StringIO()
    connection.close()


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    name = f"ctvault_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(args.server_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = args.server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        single = _append(url, 1, args.appends // 4)
        eight = _append(url, 8, args.appends)
        started = time.perf_counter()
        _bulk_chain(url, args.events)
        generated = time.perf_counter() - started
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            session.execute(text("SELECT 1"))
            started = time.perf_counter()
            report = verify_chain(session, connect=lambda: psycopg2.connect(url))
            verified = time.perf_counter() - started
        engine.dispose()
        commits = _commit_rate(url)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print("| measure | result |\n|---|---|")
    print(f"| append, 1 writer | {single:,.0f} events/s |")
    print(f"| append, 8 writers | {eight:,.0f} events/s |")
    print(f"| bare single-row INSERT+COMMIT, 1 connection (disk fsync bound) | {commits:,.0f}/s |")
    print(
        f"| verify {report.count:,} events | {verified:.2f} s ({report.count / verified:,.0f}"
        f" events/s), ok={report.is_ok} |"
    )
    print(f"| (bulk-generating the chain took {generated:.1f} s) | |")


def _commit_rate(url: str, rounds: int = 300) -> float:
    connection = psycopg2.connect(url)
    cursor = connection.cursor()
    cursor.execute("CREATE TEMP TABLE commit_probe (x int)")
    connection.commit()
    started = time.perf_counter()
    for i in range(rounds):
        cursor.execute("CREATE TABLE IF NOT EXISTS commit_probe_real (x int)")
        cursor.execute("INSERT INTO commit_probe_real VALUES (%s)", (i,))
        connection.commit()
    rate = rounds / (time.perf_counter() - started)
    connection.close()
    return rate


if __name__ == "__main__":
    main()
