"""Fixtures of the command-line tests: ``ctvault`` processes on a fresh database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ADMIN_PASSWORD = "first admin password"


@pytest.fixture
def cli_env(fresh_database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    env.update(
        DATABASE_URL=fresh_database_url,
        REDIS_URL=redis_url,
        CTVAULT_DATA_DIR=str(tmp_path / "data"),
        CTVAULT_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env
