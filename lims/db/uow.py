"""Unit of work: one transaction, its audit events and its after-commit side effects."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """Owns one session; only ``commit`` makes changes visible, then runs side effects.

    Use as a context manager: leaving the block without ``commit()`` rolls back.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []

    @property
    def session(self) -> Session:
        """The session of this unit of work, opened on first use."""
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (enqueue, mail)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        """Commit the transaction, then run the after-commit callbacks in order."""
        if self._session is not None:
            self._session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        """Discard the transaction and its pending side effects."""
        self._after_commit.clear()
        if self._session is not None:
            self._session.rollback()

    def close(self) -> None:
        """Roll back anything uncommitted and release the session."""
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None
        self._after_commit.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
