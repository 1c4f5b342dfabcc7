"""Migrations build exactly the schema the models declare (alembic check on a fresh DB)."""

from __future__ import annotations

from alembic import command

from lims.db.migrate import alembic_config


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    command.check(alembic_config(database_url))


def test_upgrade_is_idempotent(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
    command.check(alembic_config(database_url))
