"""Engine and session factories; nothing global, the composition roots call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(database_url: str, *, role: str | None = None, **kwargs: Any) -> Engine:  # noqa: ANN401 - engine options
    """Create an engine whose connections all speak UTC (invariant 6).

    Args:
        database_url: a PostgreSQL URL.
        role: if given, every connection switches to this role (``SET ROLE``), so the
            application runs without the owner's privileges.
        **kwargs: passed to ``create_engine``.
    """
    if role is not None and not role.replace("_", "").isalnum():
        raise ValueError(f"not a valid role name: {role!r}")
    url = database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _utc(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401 - DB-API object
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            if role:
                cursor.execute(f'SET ROLE "{role}"')
        dbapi_connection.commit()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
