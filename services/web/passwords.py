"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).

A hash records its own parameters, so raising them later only needs ``needs_rehash`` at the next sign-in.
Verifying against a dummy hash when the account does not exist keeps the answer's timing the same, so the
sign-in form does not tell which user names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; a missing hash (SSO-only account) still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused (Vietnamese, shown beside the field), or None."""
    if len(password) < MIN_LENGTH:
        return f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự."
    if username and username.lower() in password.lower():
        return "Mật khẩu không được chứa tên đăng nhập."
    if len(set(password)) < 5:
        return "Mật khẩu quá đơn giản (quá ít ký tự khác nhau)."
    return None
