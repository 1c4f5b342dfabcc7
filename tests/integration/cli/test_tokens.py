"""``ctvault token``: a user makes, lists and revokes their own API tokens from a shell."""

from __future__ import annotations

import re

import sqlalchemy

from lims.db.session import make_engine
from tests.integration.cli.test_cli import as_admin, run

UUID = r"[0-9a-f-]{36}"


def _token_rows(database_url: str) -> list[tuple[str, str, bool]]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text(
                "SELECT name, scope, revoked_at IS NOT NULL FROM api_tokens ORDER BY created_at"
            )
        ).all()
    engine.dispose()
    return [(str(n), str(s), bool(r)) for n, s, r in rows]


def _actions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        actions = connection.execute(
            sqlalchemy.text(
                "SELECT action FROM audit_events WHERE action LIKE 'token.%' ORDER BY seq"
            )
        ).scalars()
        found = list(actions)
    engine.dispose()
    return found


def test_create_list_and_revoke_a_token(cli_env: dict[str, str], fresh_database_url: str) -> None:
    assert run(cli_env, "user", "init-admin").returncode == 0

    made = run(cli_env, *as_admin("token", "create", "nightly export", "--days", "30"))

    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("ctv_"), "only the secret goes to stdout, for scripts"
    token_id = re.search(rf"token ({UUID}) \(read, expires ", made.stderr).group(1)
    listed = run(cli_env, *as_admin("token", "list"))
    assert listed.returncode == 0, listed.stderr
    assert token_id in listed.stdout
    assert "nightly export" in listed.stdout
    assert secret not in listed.stdout
    revoked = run(cli_env, *as_admin("token", "revoke", token_id))
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run(cli_env, *as_admin("token", "list")).stdout
    assert _token_rows(fresh_database_url) == [("nightly export", "read", True)]
    assert _actions(fresh_database_url) == ["token.create", "token.revoke"]


def test_bad_requests_make_no_token(cli_env: dict[str, str], fresh_database_url: str) -> None:
    assert run(cli_env, "user", "init-admin").returncode == 0

    wrong = run(cli_env, *as_admin("token", "create", "x"), password="not the password")
    too_long = run(cli_env, *as_admin("token", "create", "x", "--days", "999"))
    nameless = run(cli_env, *as_admin("token", "create", "   "))
    unknown = run(cli_env, *as_admin("token", "revoke", "00000000-0000-0000-0000-000000000000"))

    assert wrong.returncode == 1
    assert "wrong user name or password" in wrong.stderr
    assert too_long.returncode == 1
    assert "a token lives between 1 and 366 days" in too_long.stderr
    assert nameless.returncode == 1
    assert "give the token a name" in nameless.stderr
    assert unknown.returncode == 1
    assert "no such token" in unknown.stderr
    assert _token_rows(fresh_database_url) == []
