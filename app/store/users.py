"""Users and their passwords.

Passwords are stored as ``scrypt$n$r$p$salt_hex$hash_hex`` (hashlib.scrypt, stdlib), so the cost can
be raised later without locking anyone out: the parameters travel with each hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import RuleViolation
from app.store.models import User

ROLES = {"clerk": "售票员", "gate": "检票员", "supervisor": "值班站长", "technician": "技术员"}

# n=2**14 keeps a login near 50 ms on a station PC while costing an attacker the same per guess.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def ensure_user(session: Session, code: str, name: str, role: str, password: str) -> User:
    """Create the user, or reset its name, role and password (demo and enrolment use this)."""
    if role not in ROLES:
        raise RuleViolation(f"未知角色：{role}", en=f"unknown role: {role}", code="UNKNOWN_ROLE")
    user = session.get(User, code)
    if user is None:
        user = User(code=code, name=name, role=role, password_hash=hash_password(password))
        session.add(user)
    else:
        user.name, user.role, user.password_hash = name, role, hash_password(password)
        user.failed_attempts, user.locked, user.active = 0, False, True
    session.flush()
    return user


# --- read and written through the operation's cursor, inside its transaction --------------------------


@dataclass(frozen=True)
class Credentials:
    code: str
    name: str
    role: str
    password_hash: str
    failed_attempts: int
    locked: bool
    active: bool


def credentials(cur, code: str) -> Credentials | None:
    cur.execute(
        "SELECT code, name, role, password_hash, failed_attempts, locked, active FROM users WHERE code = ?",
        (code,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    code, name, role, password_hash, failed, locked, active = row
    return Credentials(code, name, role, password_hash, failed, bool(locked), bool(active))


def set_failed_attempts(cur, code: str, failed: int, *, locked: bool) -> None:
    cur.execute("UPDATE users SET failed_attempts = ?, locked = ? WHERE code = ?", (failed, locked, code))


def clear_failed_attempts(cur, code: str) -> None:
    cur.execute("UPDATE users SET failed_attempts = 0 WHERE code = ?", (code,))


def unlock_user(cur, code: str) -> None:
    cur.execute("UPDATE users SET failed_attempts = 0, locked = 0 WHERE code = ?", (code,))


def add_user(cur, code: str, name: str, role: str, password: str) -> None:
    cur.execute("INSERT INTO users (code, name, role, password_hash, failed_attempts, locked, active) "
                "VALUES (?, ?, ?, ?, 0, 0, 1)", (code, name, role, hash_password(password)))


def set_password(cur, code: str, password: str) -> None:
    """A new password, and the account unlocked: the technician resets it because it was lost."""
    cur.execute("UPDATE users SET password_hash = ?, failed_attempts = 0, locked = 0 WHERE code = ?",
                (hash_password(password), code))


@dataclass(frozen=True)
class UserRow:
    code: str
    name: str
    role: str
    locked: bool
    active: bool


def list_users(cur) -> list[UserRow]:
    cur.execute("SELECT code, name, role, locked, active FROM users ORDER BY code")
    return [UserRow(c, n, r, bool(lk), bool(a)) for c, n, r, lk, a in cur.fetchall()]


@dataclass(frozen=True)
class UserRef:
    code: str
    name: str
    role: str
    active: bool


def user_ref(cur, code: str) -> UserRef | None:
    cur.execute("SELECT code, name, role, active FROM users WHERE code = ?", (code,))
    row = cur.fetchone()
    return None if row is None else UserRef(row[0], row[1], row[2], bool(row[3]))


def first_active_clerk(cur) -> UserRef | None:
    """The clerk with the lowest code (screenshots sign in as them)."""
    cur.execute("SELECT code, name, role, active FROM users WHERE role = 'clerk' AND active = 1 ORDER BY code LIMIT 1")
    row = cur.fetchone()
    return None if row is None else UserRef(row[0], row[1], row[2], bool(row[3]))
