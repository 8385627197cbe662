"""The terminal <-> provincial server protocol: what both sides must compute identically.

Pure: no I/O, no network; of ``app`` only the error shape (``app.domain.errors``) and the event
contract (``app.domain.events``), which the terminal's outbox hashes with the same code. The
terminal client and the reference server (and any other implementation) share these helpers, and
``docs/protocol.md`` is their prose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from app.domain.errors import KezhanError, SyncError
from app.domain.events import EVENT_FIELDS, EVENT_TYPES, event_hash  # noqa: F401 - part of this module's API
from app.domain.events import canonical_json as _canonical_encode

PROTOCOL_VERSION = "1"
SUPPORTED_VERSIONS = ("1",)
API_PREFIX = "/v1"

# Headers (HTTP header names are case-insensitive; these are the spellings we send).
H_PROTOCOL = "Kezhan-Protocol"
H_TERMINAL = "Kezhan-Terminal"
H_TIMESTAMP = "Kezhan-Timestamp"
H_NONCE = "Kezhan-Nonce"
H_SIGNATURE = "Kezhan-Signature"
H_SERVER_TIME = "Kezhan-Server-Time"
# Which copy of the terminal's data sends the request: an id made at the data's first start on a PC
# and kept beside the database. One terminal identity is used by one instance; see docs/protocol.md.
H_INSTANCE = "Kezhan-Instance"
INSTANCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# A retry of a call that changes something carries the same key: the server answers it with the
# first answer instead of doing it again (docs/protocol.md § Idempotency keys).
H_IDEMPOTENCY_KEY = "Idempotency-Key"
H_IDEMPOTENT_REPLAY = "Kezhan-Idempotent-Replay"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")

SIGNING_SCHEME = "KEZHAN-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 300
# A nonce must be remembered for as long as a request carrying it could still pass the
# timestamp check: the window reaches MAX_CLOCK_SKEW_SECONDS either side of the server's clock.
NONCE_RETENTION_SECONDS = 2 * MAX_CLOCK_SKEW_SECONDS + 60
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# --------------------------------------------------------------------------- canonical JSON


def canonical_json(obj: Any) -> bytes:
    """The event contract's canonical JSON, as UTF-8 bytes: one byte string per value."""
    return _canonical_encode(obj).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_hash_and_payload_text(event: dict) -> tuple[str, str]:
    """The event's hash and its payload's canonical JSON (what the server stores), from one
    canonical encoding of the six fields. In that text the payload sits between ``"payload":``
    and the last ``,"seq":``: the fields before it (created_at, event_id) and after it (seq,
    terminal_id, type) are strings and an integer, whose encodings cannot hold either marker
    (a quote inside a JSON string is always escaped). Callers check those types first."""
    text = _canonical_encode({k: event[k] for k in EVENT_FIELDS})
    start = text.index('"payload":') + 10
    end = text.rindex(',"seq":')
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), text[start:end]


# --------------------------------------------------------------------------- request signing


def new_nonce() -> str:
    return secrets.token_hex(16)


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def string_to_sign(
    *, terminal_id: str, method: str, path_qs: str, timestamp: int | str, nonce: str, body_sha256: str
) -> str:
    """The exact text the HMAC covers; one field per line, no trailing newline."""
    return "\n".join(
        [
            SIGNING_SCHEME,
            PROTOCOL_VERSION,
            terminal_id,
            method.upper(),
            path_qs,
            str(timestamp),
            nonce,
            body_sha256,
        ]
    )


def signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_headers(
    *,
    terminal_id: str,
    secret: str,
    method: str,
    path_qs: str,
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers for one signed request. ``path_qs`` is the path and query exactly as they go on
    the request line (already percent-encoded), e.g. ``/v1/changes?cursor=a1b2:17&limit=500``.
    Pass the clock-corrected ``timestamp`` (server time as the client estimates it)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    nonce = nonce or new_nonce()
    text = string_to_sign(
        terminal_id=terminal_id, method=method, path_qs=path_qs, timestamp=ts, nonce=nonce,
        body_sha256=sha256_hex(body or b""),
    )
    return {
        H_PROTOCOL: PROTOCOL_VERSION,
        H_TERMINAL: terminal_id,
        H_TIMESTAMP: str(ts),
        H_NONCE: nonce,
        H_SIGNATURE: signature(secret, text),
    }


def verify_signature(
    *,
    secret: str,
    terminal_id: str,
    method: str,
    path_qs: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    given: str,
) -> bool:
    text = string_to_sign(
        terminal_id=terminal_id, method=method, path_qs=path_qs, timestamp=timestamp, nonce=nonce,
        body_sha256=sha256_hex(body or b""),
    )
    # Bytes: compare_digest refuses str with non-ASCII characters, and a header may hold any.
    return hmac.compare_digest(signature(secret, text).encode(), (given or "").lower().encode("utf-8", "replace"))


def timestamp_ok(timestamp: str, now: float) -> bool:
    # Unix seconds in decimal digits: int() would also take "١٢", "1_000" or 4,000 digits of text.
    if not isinstance(timestamp, str) or not timestamp.isascii() or not timestamp.lstrip("-").isdigit() \
            or len(timestamp) > 20:
        return False
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    return abs(now - ts) <= MAX_CLOCK_SKEW_SECONDS


def clock_offset(sent_at: float, received_at: float, server_time: float) -> float:
    """Seconds to add to the local clock to read the server's: the server stamped its answer
    somewhere between send and receive, so take the midpoint (NTP's estimate, one sample)."""
    return server_time - (sent_at + received_at) / 2.0


# --------------------------------------------------------------------------- cursor


def format_cursor(epoch: str, change_id: int, snapshot_floor: int | None = None) -> str:
    """Opaque to the terminal. ``epoch:id``; in the middle of a snapshot ``epoch:id@floor`` (the
    snapshot may start below the feed's floor, and stays valid only while the floor stays)."""
    base = f"{epoch}:{change_id}"
    return base if snapshot_floor is None else f"{base}@{snapshot_floor}"


def parse_cursor(cursor: str | None) -> tuple[str, int, int | None] | None:
    """(epoch, id, snapshot floor or None); ``None`` for an absent or unreadable cursor (the
    server answers those with a snapshot)."""
    if not cursor:
        return None
    floor = None
    if "@" in cursor:
        cursor, _, floor_text = cursor.rpartition("@")
        if not floor_text.isdigit():
            return None
        floor = int(floor_text)
    epoch, sep, number = cursor.rpartition(":")
    if not sep or not epoch or not number.isdigit():
        return None
    return epoch, int(number), floor


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    zh: str
    en: str
    action: str  # what the terminal does (docs/protocol.md § Error codes has the full table)


_SPECS = [
    ErrorSpec("PROTOCOL_VERSION", 400, "协议版本不被服务器支持", "protocol version not supported by the server", "stop syncing; upgrade"),
    ErrorSpec("MALFORMED_JSON", 400, "请求不是有效的 JSON", "request body is not valid JSON", "bug: log, do not retry the same body"),
    ErrorSpec("INVALID_REQUEST", 422, "请求内容不符合协议", "request does not match the protocol", "bug: log, do not retry the same body"),
    ErrorSpec("BODY_TOO_LARGE", 413, "请求过大", "request body too large", "send smaller batches"),
    ErrorSpec("NOT_FOUND", 404, "没有这个接口", "no such endpoint", "bug or version skew: log"),
    ErrorSpec("METHOD_NOT_ALLOWED", 405, "接口不支持该方法", "method not allowed", "bug: log"),
    ErrorSpec("AUTH_MISSING", 401, "请求未签名", "request is not signed", "bug: sign it"),
    ErrorSpec("UNKNOWN_TERMINAL", 401, "服务器不认识本终端", "terminal not known to the server", "stop syncing; re-enrol"),
    ErrorSpec("TERMINAL_REVOKED", 401, "本终端已被注销", "terminal has been revoked", "stop syncing and selling online"),
    ErrorSpec("BAD_SIGNATURE", 401, "请求签名不正确", "request signature is wrong", "retry once; then alarm"),
    ErrorSpec("STALE_TIMESTAMP", 401, "终端时钟与服务器相差过大", "terminal clock too far from the server's", "re-measure clock offset, retry"),
    ErrorSpec("REPLAYED_NONCE", 401, "请求被重放", "request replayed (nonce seen before)", "retry with a new nonce"),
    ErrorSpec("ADMIN_TOKEN_INVALID", 401, "管理令牌缺失或错误", "admin token missing or wrong", "(admin tools only)"),
    ErrorSpec("ENROL_CODE_INVALID", 403, "注册码无效", "enrolment code not valid", "ask the station admin for a new code"),
    ErrorSpec("ENROL_CODE_USED", 403, "注册码已被使用", "enrolment code already used", "ask the station admin for a new code"),
    ErrorSpec("ENROL_CODE_EXPIRED", 403, "注册码已过期", "enrolment code expired", "ask the station admin for a new code"),
    ErrorSpec("BAD_PUBLIC_KEY", 422, "票码公钥无效", "ticket-code public key not valid", "bug: regenerate the key pair"),
    ErrorSpec("UNKNOWN_STATION", 404, "没有这个车站", "no such station", "(admin tools only)"),
    ErrorSpec("EVENT_HASH_MISMATCH", 422, "事件哈希与内容不符", "event hash does not match its content", "alarm: local outbox corrupt"),
    ErrorSpec("TERMINAL_MISMATCH", 422, "事件不属于本终端", "event belongs to another terminal", "alarm: wrong database"),
    ErrorSpec("BATCH_NOT_CONTIGUOUS", 422, "批次中的序号不连续", "batch seqs not contiguous and ascending", "bug: rebuild the batch"),
    ErrorSpec("SEQ_GAP", 409, "事件序号有缺口", "gap in event seqs", "resend from expected_seq"),
    ErrorSpec("INSTANCE_CONFLICT", 409, "本终端身份正被另一台电脑上的数据副本使用", "this terminal identity is in use by another copy of its data (another PC)", "stop selling and uploading; alarm"),
    ErrorSpec("SEQ_REUSE", 409, "事件序号被重复使用（终端数据库可能被回滚）", "event seq reused with other content (terminal database rolled back?)", "stop uploading; alarm"),
    ErrorSpec("UNKNOWN_DEPARTURE", 404, "没有这个班次", "no such departure", "pull, then retry"),
    ErrorSpec("DEPARTURE_CANCELLED", 409, "班次已取消", "departure cancelled", "stop selling it"),
    ErrorSpec("LEASE_CUTOFF", 409, "已过座位租约截止时间", "past the lease cut-off for this departure", "sell by seat request only"),
    ErrorSpec("SALE_CLOSED", 409, "班次已停售", "sales for this departure are closed", "stop selling it"),
    ErrorSpec("SEAT_TAKEN", 409, "座位已售出", "seat already sold", "pick another seat"),
    ErrorSpec("SEAT_LEASED", 409, "座位已分配给其他终端", "seat leased to another terminal", "pick another seat"),
    ErrorSpec("SEAT_INVALID", 422, "没有这个座位号", "no such seat number", "pick another seat"),
    ErrorSpec("DUPLICATE_DOCUMENT", 409, "该证件已持有本班次车票（一证一座）",
              "this document already holds a ticket on this departure (one seat per document)",
              "refund one of the two tickets"),
    ErrorSpec("NO_SEATS", 409, "没有余座", "no free seats", "show sold out"),
    ErrorSpec("UNKNOWN_TICKET", 404, "没有这张票", "no such ticket", "pull, then retry"),
    ErrorSpec("TICKET_NOT_ACTIVE", 409, "票已退、已改签或已作废", "ticket is refunded, changed or voided", "show the ticket's state"),
    ErrorSpec("ALREADY_PICKED_UP", 409, "票已被取出", "ticket already picked up", "show where and when"),
    ErrorSpec("UNKNOWN_FARE", 422, "没有该到站的票价", "no fare to that stop", "pull, then retry"),
    ErrorSpec("BUSY", 503, "服务器繁忙", "server busy", "back off and retry"),
    ErrorSpec("IDEMPOTENCY_KEY_REUSED", 409, "同一个幂等键用于了不同的请求",
              "idempotency key already used for a different request", "bug: a new request needs a new key"),
    ErrorSpec("IDEMPOTENCY_IN_PROGRESS", 409, "同一请求仍在处理中", "the first request with this idempotency key "
              "is still being answered", "back off and retry with the same key"),
    ErrorSpec("INTERNAL", 500, "服务器内部错误", "server internal error", "back off and retry"),
]

ERRORS: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}

# Conflict kinds reported by an upload (the sale is recorded; the terminal must resolve it).
CONFLICT_KINDS = (
    "SEAT_TAKEN",
    "SEAT_LEASED",
    "SEAT_INVALID",
    "UNKNOWN_DEPARTURE",
    "UNKNOWN_TICKET",
    "TICKET_NOT_ACTIVE",
    "ALREADY_PICKED_UP",
    "DUPLICATE_DOCUMENT",
)


def error_body(code: str, message: str | None = None, **details: Any) -> dict:
    spec = ERRORS[code]
    body = {"error": code, "message": message or spec.en, "message_zh": spec.zh}
    body.update(details)
    return body


class ProtocolError(KezhanError):
    """An error response, on either side: the code decides what happens next.

    The application's error shape (``code``, Chinese ``message``, ``en``, ``details``,
    ``text(language)``), built from the code: the table above gives both texts, so a raiser names
    the code and, at most, a more precise English ``message``. ``str()`` is that English text,
    the one an answer carries in its ``message`` field.
    """

    exit_code = SyncError.exit_code

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None, **details: Any):
        spec = ERRORS.get(code)
        en = message or (spec.en if spec else code)
        super().__init__(spec.zh if spec else en, en=en, code=code)
        # Set after: a detail may be called "message" or "en", which the base class would take.
        self.details = details
        self.status = status or (spec.status if spec else 500)

    def __str__(self) -> str:
        return self.en

    def __reduce__(self):
        # Crosses process boundaries whole (the server's upload workers): code, message, status, details.
        return _protocol_error, (self.code, str(self), self.status, self.details)

    def body(self) -> dict:
        if self.code in ERRORS:
            return error_body(self.code, str(self), **self.details)
        return {"error": self.code, "message": str(self), **self.details}


def _protocol_error(code: str, message: str, status: int, details: dict) -> ProtocolError:
    return ProtocolError(code, message, status=status, **details)


# --------------------------------------------------------------------------- ticket-code keys


def decode_public_key(text: str) -> bytes:
    """Raw 32-byte Ed25519 public key from its base64 (standard or URL-safe, padding optional)."""
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return raw


def encode_public_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
