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


def _bad_login(tries_left: int | None = None) -> RuleViolation:
    # One message for an unknown user and a wrong password: no hint which one was wrong. A known
    # account's clerk is told how many tries remain before it locks, so the last one is not
    # wasted on a guess.
    if tries_left is None:
        return RuleViolation("工号或密码错误", en="Wrong user code or password", code="BAD_LOGIN")
    if tries_left <= 0:
        return RuleViolation(
            "工号或密码错误，账号已锁定，请联系技术员解锁",
            en="Wrong user code or password; the account is now locked: ask a technician to unlock it",
            code="BAD_LOGIN",
            tries_left=0,
        )
    return RuleViolation(
        f"工号或密码错误，还可再试 {tries_left} 次（之后账号锁定）",
        en=f"Wrong user code or password; {tries_left} {'try' if tries_left == 1 else 'tries'} left "
           "before the account locks",
        code="BAD_LOGIN",
        tries_left=tries_left,
    )


def _locked() -> RuleViolation:
    return RuleViolation(
        "账号已锁定，请联系技术员解锁",
        en="This account is locked; ask a technician to unlock it",
        code="ACCOUNT_LOCKED",
    )


def tries_left(cur, code: str) -> int | None:
    """Wrong passwords an existing account may still take before it locks (None: no such account)."""
    user = user_store.credentials(cur, code)
    if user is None or not user.active:
        return None
    return 0 if user.locked else max(MAX_FAILED_ATTEMPTS - user.failed_attempts, 0)


def check_credentials(cur, code: str, password: str, *, role: str | None = None) -> SignedIn | None:
    """Verify a password inside the caller's transaction, counting failures and locking the account
    after MAX_FAILED_ATTEMPTS. The failure counter is written even though the caller's operation is
    refused, so callers commit before raising (see :func:`login`)."""
    user = user_store.credentials(cur, code)
    if user is None or not user.active:
        raise _bad_login()
    if user.locked:
        raise _locked()
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
    """Sign a user in. Refusals: ``BAD_LOGIN`` (with ``tries_left`` for an existing account),
    ``ACCOUNT_LOCKED`` (once five wrong passwords have locked it; the fifth says so itself)."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        user = check_credentials(cur, code, password)
        audit(cur, terminal, code, "login" if user else "login_failed", code, {}, now)
        left = None if user else tries_left(cur, code)
    if user is None:
        raise _bad_login(left)
    return user


def _unknown_user(code: str) -> RuleViolation:
    return RuleViolation(f"没有工号为 {code} 的账号", en=f"no account with the code {code}", code="UNKNOWN_USER")


def unlock(db: Database, terminal: Terminal, *, technician: str, code: str, now: datetime) -> bool:
    """Unlock an account after too many wrong passwords. Returns whether it was locked."""
    now = require_now(now)
    with db.transaction() as session:
        cur = cursor(session)
        user = user_store.credentials(cur, code)
        if user is None:
            raise _unknown_user(code)
        user_store.unlock_user(cur, code)
        audit(cur, terminal, technician, "unlock", code, {"was_locked": user.locked}, now)
    return user.locked


# Who a technician may add at a terminal; supervisors and technicians come from the station's admin.
ADDABLE_ROLES = ("clerk", "gate")
MIN_PASSWORD = 4


def _check_password(password: str, code: str) -> None:
    if len(password) < MIN_PASSWORD or password == code:
        raise RuleViolation(f"密码至少 {MIN_PASSWORD} 位，且不能与工号相同",
                            en=f"a password needs {MIN_PASSWORD} characters or more and may not be the user code",
                            code="WEAK_PASSWORD")


def add_user(db: Database, terminal: Terminal, *, technician: str, code: str, name: str, role: str,
             password: str, now: datetime) -> None:
    """A new clerk (售票员) or gate checker (检票员) on this terminal."""
    now = require_now(now)
    code, name = code.strip(), name.strip()
    if role not in ADDABLE_ROLES:
        raise RuleViolation("技术员只能添加售票员或检票员", en="a technician adds clerks and gate checkers only",
                            code="NOT_AUTHORISED")
    if not (code.isdigit() and 2 <= len(code) <= 8):
        raise RuleViolation("工号应为 2 至 8 位数字", en="a user code is 2 to 8 digits", code="BAD_USER_CODE")
    if not name:
        raise RuleViolation("请填写姓名", en="enter the name", code="BAD_USER_NAME")
    _check_password(password, code)
    with db.transaction() as session:
        cur = cursor(session)
        if user_store.credentials(cur, code) is not None:
            raise RuleViolation(f"工号 {code} 已存在", en=f"the user code {code} is taken", code="USER_EXISTS")
        user_store.add_user(cur, code, name, role, password)
        audit(cur, terminal, technician, "add_user", code, {"role": role}, now)


def reset_password(db: Database, terminal: Terminal, *, technician: str, code: str, password: str,
                   now: datetime) -> None:
    now = require_now(now)
    _check_password(password, code)
    with db.transaction() as session:
        cur = cursor(session)
        if user_store.credentials(cur, code) is None:
            raise _unknown_user(code)
        user_store.set_password(cur, code, password)
        audit(cur, terminal, technician, "reset_password", code, {}, now)


def users(db: Database) -> list[user_store.UserRow]:
    with db.read() as session:
        return user_store.list_users(cursor(session))


def set_technician(db: Database, code: str, password: str) -> None:
    """The technician's own account, set by the set-up wizard: created, or its password replaced."""
    with db.transaction() as session:
        cur = cursor(session)
        if user_store.credentials(cur, code) is None:
            user_store.add_user(cur, code, "技术员", "technician", password)
        else:
            user_store.set_password(cur, code, password)
