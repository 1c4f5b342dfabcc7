"""Alembic environment: one MetaData for core, audit and signatures; serialised, bounded."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import audit.models  # noqa: F401 - registers the audit table on Base.metadata
import lims.models  # noqa: F401 - registers the core tables on Base.metadata
from lims.db.base import Base
from lims.db.session import make_engine

MIGRATION_LOCK_KEY = 0x6D696772617465  # "migrate": one migrator at a time


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]  # noqa: ANN001
    connection.execute(text("SET lock_timeout = '30s'"))
    connection.execute(text("SET statement_timeout = '30min'"))
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    connection.commit()


run_migrations_online()
