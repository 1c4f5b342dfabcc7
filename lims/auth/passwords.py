"""Local account passwords: Argon2id hashes (argon2-cffi)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """Return an Argon2id hash of the password."""
    return str(_HASHER.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an empty or whitespace password never does."""
    if not password.strip() or not password_hash:
        return False
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str) -> list[str]:
    """What is wrong with a new password (empty list when acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        problems.append("a password cannot start or end with spaces")
    return problems


def generate_password() -> str:
    """A random password a person can type (about 120 bits)."""
    return secrets.token_urlsafe(15)
