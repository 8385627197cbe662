"""Enrolment: a one-time code becomes this terminal's id, its HMAC secret and a registered ticket-code key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import re
from datetime import UTC, datetime

from app.domain.ed25519 import PrivateKey, PublicKey
from app.errors import SyncError
from app.store import sync_state
from app.store.engine import Database
from app.store.models import SyncIdentity
from app.store.province import get_setting, put_setting
from sync import protocol
from sync.protocol import ProtocolError

from .transport import BadAnswer, Credentials, LinkDown, Transport

log = logging.getLogger("kezhan.sync")

DOC_HASH_KEY_SETTING = "doc_hash_key"
# The key pair of an enrolment sent but not yet answered, for a retry under the same idempotency key.
PENDING_ENROLMENT_SETTING = "pending_enrolment"
_NOT_CODE_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def code_key_id(server_key_id: str) -> str:
    """The key id as it goes into a ticket code (``[A-Za-z0-9_-]{1,32}``, app.domain.ticket_code).
    The server may name keys more freely ("330102001-T01/1"); signer and gate map the same way."""
    return _NOT_CODE_SAFE.sub("_", server_key_id)[-32:]


def load_identity(db: Database) -> SyncIdentity | None:
    with db.read() as session:
        return sync_state.sync_identity(session)


def require_identity(db: Database) -> SyncIdentity:
    ident = load_identity(db)
    if ident is None:
        raise SyncError("本终端尚未注册到省平台：请运行 kezhan sync enrol --server URL --code 注册码",
                        en="this terminal is not enrolled: run `kezhan sync enrol --server URL --code CODE`",
                        code="NOT_ENROLLED")
    return ident


def enrol(db: Database, server_url: str, code: str, *, label: str = "", transport: Transport | None = None,
          idempotency_key: str | None = None, attempts: int = 5) -> dict:
    """Exchange ``code`` for an identity and store it. A terminal enrols once: a second enrolment
    would give it a new id and restart its seq at 1, so it is refused while an identity exists.

    Safe to retry: every attempt carries one idempotency key, so an enrolment whose answer was lost
    is answered again with the same terminal, never "code already used". Within one call the
    attempts are retried with backoff while the link is down; a caller that retries by calling again
    (a set-up wizard's "try again") passes the same ``idempotency_key``, and the key pair made for
    the first call, kept in the settings until the enrolment is stored, is sent again with it."""
    existing = load_identity(db)
    if existing is not None:
        raise SyncError(f"本终端已注册为 {existing.terminal_id}", en=f"already enrolled as {existing.terminal_id}",
                        code="ALREADY_ENROLLED", terminal_id=existing.terminal_id)
    key = _pending_key(db, code, idempotency_key)
    public = protocol.encode_public_key(key.public_key().public_bytes())
    transport = transport or Transport(server_url)
    try:
        answer = transport.call_retrying("POST", protocol.API_PREFIX + "/enrol", idempotency_key=idempotency_key,
                                         attempts=attempts, body={"code": code, "public_key": public, "label": label},
                                         signed=False)
    except LinkDown as exc:
        raise SyncError(f"无法连接省平台：{exc}", en=f"cannot reach the server: {exc}", code="LINK_DOWN") from None
    except BadAnswer as exc:
        raise SyncError(f"省平台回复无法识别：{exc}", en=f"unreadable answer from the server: {exc}",
                        code="BAD_ANSWER") from None
    except ProtocolError as exc:
        spec = protocol.ERRORS.get(exc.code)
        raise SyncError(f"注册失败：{spec.zh if spec else exc}", en=f"enrolment refused: {exc}",
                        code=exc.code) from None
    try:
        terminal_id = str(answer["terminal_id"])
        secret = str(answer["secret"])
        key_id = str(answer.get("key_id") or terminal_id)
        station = answer.get("station") or {}
        station_code = str(station.get("code") if isinstance(station, dict) else station or terminal_id.split("-")[0])
    except (KeyError, TypeError) as exc:
        raise SyncError("省平台的注册回复缺少字段", en=f"enrolment answer lacks a field: {exc}", code="BAD_ANSWER") from None
    now = datetime.now(UTC)
    with db.transaction() as session:
        sync_state.record_enrolment(session, SyncIdentity(
            terminal_id=terminal_id, station_code=station_code, server_url=server_url.rstrip("/"), secret=secret,
            signing_key=base64.b64encode(key.private_bytes()).decode("ascii"), key_id=key_id, enrolled_at=now,
        ), public, str(answer["doc_hash_key"]) if answer.get("doc_hash_key") else None)
        put_setting(session, PENDING_ENROLMENT_SETTING, None)
    log.info("enrolled as %s at %s (key %s)", terminal_id, server_url, key_id)
    return {"terminal_id": terminal_id, "station": station_code, "key_id": key_id, "server": server_url}


def _pending_key(db: Database, code: str, idempotency_key: str | None) -> PrivateKey:
    """The key pair to enrol with: a new one, or, for a call retrying an earlier one with the same
    idempotency key and code, the pair that call sent (the server compares the request whole)."""
    if idempotency_key is None:
        return PrivateKey.generate()
    with db.read() as session:
        pending = get_setting(session, PENDING_ENROLMENT_SETTING)
    if isinstance(pending, dict) and pending.get("key") == idempotency_key and pending.get("code") == code:
        with contextlib.suppress(ValueError, TypeError):
            return PrivateKey.from_private_bytes(base64.b64decode(pending["signing_key"]))
    key = PrivateKey.generate()
    with db.transaction() as session:
        put_setting(session, PENDING_ENROLMENT_SETTING, {
            "key": idempotency_key, "code": code,
            "signing_key": base64.b64encode(key.private_bytes()).decode("ascii")})
    return key


def credentials(ident: SyncIdentity) -> Credentials:
    return Credentials(ident.terminal_id, ident.secret)


def public_keys(db: Database) -> dict[str, PublicKey]:
    """Every terminal's ticket-code public key this terminal knows (its own and the feed's)."""
    with db.read() as session:
        rows = sync_state.ticket_keys(session)
    out = {}
    for row in rows:
        try:
            out[code_key_id(row.key_id)] = PublicKey.from_public_bytes(protocol.decode_public_key(row.public_key))
        except ValueError:
            log.warning("ticket key %s in the store is not a valid Ed25519 key; skipped", row.key_id)
    return out


def doc_hash_key(db: Database, ident: SyncIdentity) -> bytes:
    """The province-wide key of document hashes: the server's when it sent one; otherwise one derived from
    the province code, so that every terminal of the province at least agrees."""
    with db.read() as session:
        key = get_setting(session, DOC_HASH_KEY_SETTING)
        province = get_setting(session, "province")
    if key is not None:
        text = str(key)
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            raw = b""
        return raw if len(raw) >= 16 else text.encode("utf-8")
    code = (province or {}).get("code", "")
    return hashlib.sha256(f"kezhan-doc-hash/{code or ident.station_code[:2]}".encode()).digest()


def make_terminal(db: Database, **overrides):
    """The :class:`app.services.Terminal` of the enrolled identity, with every known public key."""
    from app.services.context import Terminal

    ident = require_identity(db)
    key = PrivateKey.from_private_bytes(base64.b64decode(ident.signing_key))
    kwargs = {
        "station_code": ident.station_code,
        "terminal_id": ident.terminal_id,
        "signing_key": key,
        "doc_hash_key": doc_hash_key(db, ident),
        "key_id": code_key_id(ident.key_id),
        "public_keys": public_keys(db),
    }
    kwargs.update(overrides)
    return Terminal(**kwargs)
