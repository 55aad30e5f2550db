"""Password hashing (argon2id, argon2-cffi's defaults) and one-time passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # stateless parameters object; safe to share
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """16 URL-safe characters (~96 bits), shown once; its owner changes it at first sign-in."""
    return secrets.token_urlsafe(12)


def password_problem(password: str, *, email: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    if password.strip().lower() == email.strip().lower():
        return "use something other than your email address"
    return None
