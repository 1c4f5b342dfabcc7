"""Signatures on a committed database: two reviewers at once, and the CLI as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine, func, select, text

from audit import AuditEvent
from lims.clock import SystemClock
from lims.db.session import make_engine, make_session_factory
from lims.errors import ConflictError, UserError
from lims.models import Analysis, Signature
from lims.runtime.resources import Resources
from lims.services import signing
from lims.settings import Settings
from lims.storage.blobstore import BlobStore
from signatures.statement import STATEMENT_SHA256
from tests.conftest import APP_ROLE
from tests.factories import make_user
from tests.integration.signatures.conftest import PASSWORD, Lab, build_lab

CTVAULT = [sys.executable, "-m", "lims.cli"]


@pytest.fixture
def committed(
    fresh_database_url: str, redis_url: str, redis: Redis, tmp_path: Path
) -> Iterator[tuple[Lab, Engine]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=fresh_database_url,
        redis_url=redis_url,
        secret_key="test-secret",
    )
    engine = make_engine(fresh_database_url, role=APP_ROLE, pool_size=6)
    store = BlobStore(settings.blob_dir)
    store.ensure()
    resources = Resources(settings, make_session_factory(engine), redis, store, SystemClock())
    owner = make_engine(fresh_database_url)
    with resources.unit_of_work() as uow:
        author = make_user(uow, "mcurie", display_name="Marie Curie")
        yield build_lab(resources, uow, author, tmp_path), owner
    engine.dispose()
    owner.dispose()


def _lock_waiters(owner: Engine) -> int:
    with owner.connect() as conn:
        return (
            conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            )
            or 0
        )


@pytest.mark.req("P11-14", "A11-18")
def test_two_reviewers_signing_at_the_same_moment_one_wins(
    committed: tuple[Lab, Engine],
) -> None:
    lab, owner = committed
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    outcomes: dict[str, object] = {}

    def review(who: str) -> None:
        identity = lab.reviewer if who == "rfeynman" else lab.qa
        with lab.resources.unit_of_work() as uow:
            ctx = lab.resources.service_context(uow, identity)
            try:
                outcomes[who] = signing.sign(ctx, "analysis", revision, "reviewed", PASSWORD)
            except UserError as exc:
                outcomes[who] = exc

    # Hold the analysis row so both reviewers pass the first check and queue on the lock.
    with owner.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM analyses WHERE id = :id FOR UPDATE"), {"id": analysis.id}
        )
        threads = [threading.Thread(target=review, args=(who,)) for who in ("rfeynman", "lmeitner")]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _lock_waiters(owner) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _lock_waiters(owner) == 2, "both reviewers reached the row lock"
        holder.rollback()
    for thread in threads:
        thread.join(30)

    winners = [w for w, o in outcomes.items() if isinstance(o, Signature)]
    losers = [o for o in outcomes.values() if isinstance(o, ConflictError)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert "this analysis is reviewed; it must be submitted" in str(losers[0])
    with lab.resources.unit_of_work() as uow:
        count = uow.session.scalar(
            select(func.count()).select_from(Signature).where(Signature.meaning == "reviewed")
        )
        status = uow.session.scalar(select(Analysis.status).where(Analysis.id == analysis.id))
        refused = uow.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "signature.refused")
        )
    assert (count, status, refused) == (1, "reviewed", 1)


def _cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CTVAULT, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.req("P11-22", "A11-17")
def test_cli_verify_reports_a_record_altered_behind_the_app_and_exports_keys(
    committed: tuple[Lab, Engine], tmp_path: Path
) -> None:
    lab, owner = committed
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    signing.sign(lab.ctx(lab.reviewer), "analysis", revision, "reviewed", PASSWORD)
    settings = lab.resources.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    env.update(
        DATABASE_URL=str(settings.database_url),
        REDIS_URL=str(settings.redis_url),
        CTVAULT_DATA_DIR=str(settings.data_dir),
    )
    good = _cli(env, "signatures", "verify")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "signatures: 2 checked; OK" in good.stdout

    exported = _cli(env, "signatures", "keys", "export", "--output", str(tmp_path / "keys.json"))
    assert exported.returncode == 0, exported.stderr
    keys = json.loads((tmp_path / "keys.json").read_text())["keys"]
    assert [k["algorithm"] for k in keys] == ["Ed25519"]

    with owner.begin() as conn:
        conn.execute(
            text("ALTER TABLE analysis_revisions DISABLE TRIGGER analysis_revisions_immutable")
        )
        conn.execute(
            text(
                "UPDATE analysis_revisions SET conclusions = 'Out of specification' WHERE id = :id"
            ),
            {"id": revision},
        )
        conn.execute(
            text(
                "ALTER TABLE analysis_revisions ENABLE ALWAYS TRIGGER analysis_revisions_immutable"
            )
        )

    bad = _cli(env, "signatures", "verify")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert bad.stdout.count("BROKEN") == 2
    assert "content changed since signing" in bad.stdout
    assert "FAILED: 2 broken" in bad.stdout


@pytest.mark.req("P11-17", "P11-20")
def test_cli_step_state_change_is_signed_by_the_admin(committed: tuple[Lab, Engine]) -> None:
    lab, _owner = committed
    settings = lab.resources.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    env.update(
        DATABASE_URL=str(settings.database_url),
        REDIS_URL=str(settings.redis_url),
        CTVAULT_DATA_DIR=str(settings.data_dir),
    )
    args = ("workflow", "step-state", "segment.otsu", "1", "draft", "--reason", "OQ re-run")
    wrong = _cli(env, *args, "--user", "root", "--password-stdin", stdin="wrong\n")
    assert wrong.returncode == 1
    refused = _cli(env, *args, "--user", "mcurie", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert refused.returncode == 1
    assert "only an administrator" in refused.stderr
    unacknowledged = _cli(env, *args, "--user", "root", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert unacknowledged.returncode == 1
    assert "sign again with --acknowledge-statement" in unacknowledged.stderr
    assert "acknowledge the signature-accountability statement" in unacknowledged.stderr
    statement = _cli(env, "signatures", "statement")
    assert statement.returncode == 0
    assert STATEMENT_SHA256 in statement.stdout
    done = _cli(
        env,
        *args,
        "--acknowledge-statement",
        "--user",
        "root",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "signed by Ada Admin (root)" in done.stdout
    listing = _cli(env, "signatures", "verify", "--all")
    assert listing.returncode == 0, listing.stdout
    assert "VALID" in listing.stdout
    assert "step_validation" in listing.stdout
    assert "approved by Ada Admin (root)" in listing.stdout
