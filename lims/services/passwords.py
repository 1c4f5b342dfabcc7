"""Local-account password rules: length, no reuse, no surrounding spaces."""

from __future__ import annotations

from collections.abc import Iterable

from lims.auth.passwords import verify_password
from lims.errors import UserError


def check_new_password(password: str, *, min_length: int, earlier_hashes: Iterable[str]) -> None:
    """Refuse a new password that breaks the policy, saying every reason at once.

    Raises:
        UserError: listing what is wrong.
    """
    problems = []
    if len(password) < min_length:
        problems.append(f"a password needs at least {min_length} characters")
    if password.strip() != password:
        problems.append("a password cannot start or end with spaces")
    if any(verify_password(old, password) for old in earlier_hashes):
        problems.append("this password was used recently; choose another")
    if problems:
        raise UserError("; ".join(problems))
