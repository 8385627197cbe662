"""Signing in, and a supervisor's approval of a forced refund."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.errors import RuleViolation
from app.services.context import Terminal, audit, cursor, require_now
from app.store import users as user_store
from app.store.engine import Database
from app.store.users import verify_password

MAX_FAILED_ATTEMPTS = 5


@dataclass(frozen=True)
class SignedIn:
    code: str
    name: str
    role: str


def _bad_login() -> RuleViolation:
    # One message for an unknown user and a wrong password: no hint which one was wrong.
    return RuleViolation("工号或密码错误", en="Wrong user code or password", code="BAD_LOGIN")


def check_credentials(cur, code: str, password: str, *, role: str | None = None) -> SignedIn | None:
    """Verify a password inside the caller's transaction, counting failures and locking the account
    after MAX_FAILED_ATTEMPTS. The failure counter is written even though the caller's operation is
    refused, so callers commit before raising (see :func:`login`)."""
    user = user_store.credentials(cur, code)
    if user is None or not user.active:
        raise _bad_login()
    if user.locked:
        raise RuleViolation(
            "账号已锁定，请联系技术员解锁",
            en="This account is locked; ask a technician to unlock it",
            code="ACCOUNT_LOCKED",
        )
    if not verify_password(password, user.password_hash):
        failed = user.failed_attempts + 1
        user_store.set_failed_attempts(cur, code, failed, locked=failed >= MAX_FAILED_ATTEMPTS)
        return None
    if user.failed_attempts:
        user_store.clear_failed_attempts(cur, code)
    if role is not None and user.role != role:
        raise RuleViolation(
            "该账号无权批准此操作（需要值班站长）",
            en="This account may not approve this (a supervisor is needed)",
            code="NOT_AUTHORISED",
        )
    return SignedIn(user.code, user.name, user.role)


def login(db: Database, terminal: Terminal, code: str, password: str, *, now: datetime) -> SignedIn:
    """Sign a user in. Refusals: ``BAD_LOGIN``, ``ACCOUNT_LOCKED`` (after five wrong passwords)."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        user = check_credentials(cur, code, password)
        audit(cur, terminal, code, "login" if user else "login_failed", code, {}, now)
    if user is None:
        raise _bad_login()
    return user


def unlock(db: Database, terminal: Terminal, *, technician: str, code: str, now: datetime) -> None:
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        user_store.unlock_user(cur, code)
        audit(cur, terminal, technician, "unlock", code, {}, now)
