"""HTTP to the provincial server: signing, the measured clock offset, and reading answers defensively.

Every failure comes out as one of three exceptions, because each calls for a different reaction:

* :class:`LinkDown` — nothing usable came back (refused, reset, timed out, cut mid-body, 502/503/504):
  the link is down; back off and retry, sell from leases meanwhile.
* :class:`BadAnswer` — something came back that is not our protocol (HTML from a captive portal,
  garbage, a body too large, another protocol version): say so plainly; back off and retry.
* :class:`sync.protocol.ProtocolError` — the server answered in protocol with an error code; the
  caller decides by code (docs/protocol.md § Error codes).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

from app.errors import SyncError
from sync import protocol
from sync.protocol import ProtocolError

log = logging.getLogger("kezhan.sync")

MAX_ANSWER_BYTES = 16 * 1024 * 1024
DEFAULT_TIMEOUT = (3.0, 15.0)  # connect, read (seconds)


class LinkDown(SyncError):
    """No usable answer: the network, the proxy or the server is down.

    The application's error shape (Chinese ``message`` for the clerk, ``en``, ``code``); built cause
    first, in English, like :class:`~sync.protocol.ProtocolError`, and ``str()`` is that English cause,
    which the cycle report and the log carry."""

    def __init__(self, en: str, zh: str = "无法连接"):
        super().__init__(zh, en=en, code="LINK_DOWN")

    def __str__(self) -> str:
        return self.en


def _link_down(exc: Exception, host: str) -> LinkDown:
    """A short, readable cause; the full exception goes to the log."""
    import requests

    log.info("link to %s: %s: %s", host, type(exc).__name__, exc)
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return LinkDown(f"connecting to {host} timed out", "连接超时")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return LinkDown(f"{host} did not answer in time", "等待回复超时")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return LinkDown(f"the answer from {host} was cut off", "回复中途中断")
    if "refused" in text:
        return LinkDown(f"connection refused by {host}", "连接被拒绝")
    if "name or service" in text or "getaddrinfo" in text or "nodename" in text:
        return LinkDown(f"cannot resolve {host}", "无法解析服务器地址")
    if "reset" in text or "aborted" in text or "disconnected" in text or "closed" in text:
        return LinkDown(f"{host} closed the connection before answering", "连接被中断")
    return LinkDown(f"cannot reach {host}: {type(exc).__name__}", "无法连接")


BAD_ANSWER_TEXT = {
    "html": "省平台返回了网页而不是协议数据",
    "garbage": "省平台返回了无法识别的数据",
    "too_large": "省平台返回的数据过大",
    "version": "省平台协议版本不兼容",
    "shape": "省平台返回的数据格式不对",
}


class BadAnswer(SyncError):
    """An answer that is not the protocol (kind: html | garbage | too_large | version | shape), in
    the application's error shape; ``str()`` is the English detail, as for :class:`LinkDown`."""

    def __init__(self, kind: str, en: str):
        super().__init__(BAD_ANSWER_TEXT.get(kind, "省平台回复异常"), en=en, code="BAD_ANSWER", kind=kind)
        self.kind = kind

    def __str__(self) -> str:
        return self.en


# Refusals about this attempt, not the request: the same request may be sent again.
_RETRYABLE = {"BUSY", "INTERNAL", "IDEMPOTENCY_IN_PROGRESS", "REPLAYED_NONCE"}


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Credentials:
    def __init__(self, terminal_id: str, secret: str):
        self.terminal_id = terminal_id
        self.secret = secret


def _server_timing(value: str | None) -> float | None:
    """``app;dur=12.5`` (the reference server's Server-Timing) as milliseconds."""
    for part in (value or "").split(";"):
        name, _, number = part.strip().partition("=")
        if name == "dur":
            try:
                return float(number)
            except ValueError:
                return None
    return None


class Transport:
    """One server, one ``requests.Session``; safe to use from one thread at a time per instance.

    ``clock`` is the local wall clock (seconds since the epoch); tests move it to play a terminal
    whose clock is wrong. ``offset`` is what must be added to it to read the server's clock, measured
    on every answer that carries ``Kezhan-Server-Time`` (or, failing that, ``Date``).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._prefix = parts.path  # a server mounted below a path prefix
        self.credentials = credentials
        self.timeout = timeout
        self.clock = clock
        self.max_answer_bytes = max_answer_bytes
        self.offset = 0.0
        self.offset_measured = False
        self.rtt: float | None = None
        self.server_ms: float | None = None  # the last answer's own account of the server's time
        self._last_sent = self._last_received = 0.0
        # requests (with urllib3 and the standard library's HTTP and e-mail parts) is loaded by the
        # first transport, not by importing the client: the counter window builds its client on the
        # sync worker thread, after the sign-in screen is up.
        import requests

        self._session = requests.Session()
        self._session.headers["User-Agent"] = "kezhan-terminal"
        # The proxy settings (environment, and on Windows the registry) read once, not on every call:
        # requests otherwise walks the whole environment for each request, which was a fifth of a
        # sync cycle's CPU. A proxy set later is taken at the next start.
        self._session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:  # the other thing requests takes from the environment: a province's own CA
            self._session.verify = ca_bundle
        self._session.trust_env = False
        self.headers: dict[str, str] = {}  # sent with every request (the instance id)

    def close(self) -> None:
        self._session.close()

    def server_now(self) -> float:
        return self.clock() + self.offset

    # ------------------------------------------------------------------ requests

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        raw: bytes | None = None,
        query: dict | None = None,
        signed: bool = True,
        headers: dict | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """One request; returns the decoded JSON object of a 2xx answer. ``idempotency_key`` is sent
        as ``Idempotency-Key``: the server answers a repeat of the request with its first answer.

        A ``STALE_TIMESTAMP`` refusal re-measures the clock from the refusal itself and is retried
        once with a fresh nonce: a terminal whose clock is off by an hour still gets through.
        """
        if idempotency_key is not None:
            headers = {**(headers or {}), protocol.H_IDEMPOTENCY_KEY: idempotency_key}
        for attempt in (1, 2):
            try:
                return self._call_once(method, path, body=body, raw=raw, query=query, signed=signed,
                                       headers=headers)
            except ProtocolError as exc:
                if exc.code == "STALE_TIMESTAMP" and attempt == 1 and signed:
                    server_time = exc.details.get("server_time")
                    if isinstance(server_time, int | float):
                        self._set_offset(time_sent=self._last_sent, time_received=self._last_received,
                                         server_time=float(server_time))
                    continue
                raise
        raise AssertionError("unreachable")

    def call_retrying(self, method: str, path: str, *, idempotency_key: str | None = None, attempts: int = 5,
                      first_wait: float = 0.25, max_wait: float = 4.0, sleep: Callable[[float], None] = time.sleep,
                      **kw) -> dict:
        """``call`` made safe to repeat: one idempotency key (``new_idempotency_key()`` unless given)
        for every attempt, so a request whose answer was lost is answered, not done, again. Retries
        with a doubling wait while the link is down, the answer was unreadable, or the server says
        it is busy or still answering the first copy; any other refusal is the answer."""
        key = idempotency_key or new_idempotency_key()
        wait = first_wait
        for attempt in range(1, attempts + 1):
            try:
                return self.call(method, path, idempotency_key=key, **kw)
            except (LinkDown, BadAnswer, ProtocolError) as exc:
                retry = (not isinstance(exc, ProtocolError) or exc.code in _RETRYABLE) and \
                    not (isinstance(exc, BadAnswer) and exc.kind == "version")
                if not retry or attempt == attempts:
                    raise
                log.info("%s %s: %s; retrying in %.2f s with the same key", method, path, exc, wait)
            sleep(wait)
            wait = min(wait * 2, max_wait)
        raise AssertionError("unreachable")

    def _call_once(self, method, path, *, body, raw, query, signed, headers) -> dict:
        path_qs = self._prefix + path
        encoded = urlencode({k: v for k, v in (query or {}).items() if v is not None})
        if encoded:  # "?" alone would be dropped on the wire and break the signature
            path_qs += "?" + encoded
        data = raw if raw is not None else (b"" if body is None else protocol.canonical_json(body))
        send = {"Accept": "application/json", protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION}
        if data:
            send["Content-Type"] = "application/json; charset=utf-8"
        send.update(self.headers)
        if headers:
            send.update(headers)
        if signed:
            if self.credentials is None:
                raise ProtocolError("AUTH_MISSING", "this terminal is not enrolled")
            send.update(
                protocol.sign_headers(
                    terminal_id=self.credentials.terminal_id,
                    secret=self.credentials.secret,
                    method=method,
                    path_qs=path_qs,
                    body=data,
                    timestamp=int(round(self.server_now())),
                )
            )
        import requests

        url = urlsplit(self.base_url)._replace(path="", query="").geturl() + path_qs
        sent = self.clock()
        self._last_sent = sent
        try:
            response = self._session.request(
                method, url, data=data or None, headers=send, timeout=self.timeout, stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise _link_down(exc, urlsplit(url).netloc) from None
        try:
            raw = self._read_body(response)
        finally:
            response.close()
        received = self.clock()
        self._last_received = received
        self.rtt = received - sent
        self._measure(response, sent, received)
        return self._decode(response, raw)

    def _read_body(self, response) -> bytes:
        import requests

        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_answer_bytes:
            raise BadAnswer("too_large", f"answer of {int(declared)} bytes is larger than {self.max_answer_bytes}")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise BadAnswer("too_large", f"answer larger than {self.max_answer_bytes} bytes")
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            # The server may have committed before the answer was cut: the caller retries, and the
            # retry is harmless because every operation is idempotent by seq or by seat.
            log.info("answer cut off: %s: %s", type(exc).__name__, exc)
            raise LinkDown("the answer was cut off", "回复中途中断") from None
        return b"".join(chunks)

    def _measure(self, response, sent: float, received: float) -> None:
        self.server_ms = _server_timing(response.headers.get("Server-Timing"))
        stamp = response.headers.get(protocol.H_SERVER_TIME)
        server_time = None
        if stamp:
            try:
                server_time = float(stamp)
            except ValueError:
                server_time = None
        if server_time is None:
            date = response.headers.get("Date")
            if date:
                try:
                    server_time = parsedate_to_datetime(date).timestamp() + 0.5  # Date has whole seconds
                except (TypeError, ValueError, IndexError):
                    server_time = None
        if server_time is not None:
            self._set_offset(time_sent=sent, time_received=received, server_time=server_time)

    def _set_offset(self, *, time_sent: float, time_received: float, server_time: float) -> None:
        self.offset = protocol.clock_offset(time_sent, time_received, server_time)
        self.offset_measured = True

    def _decode(self, response, raw: bytes) -> dict:
        status = response.status_code
        kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if status in (502, 503, 504) and kind != "application/json":
            raise LinkDown(f"HTTP {status} from a gateway", f"网关返回 {status}")
        version = response.headers.get(protocol.H_PROTOCOL)
        if kind != "application/json":
            head = raw[:200].decode("utf-8", "replace").strip().lower()
            if "html" in kind or head.startswith("<!doctype") or head.startswith("<html"):
                raise BadAnswer("html", f"HTTP {status}: the server answered with a web page, not the protocol")
            raise BadAnswer("garbage", f"HTTP {status}: the answer is not JSON ({kind or 'no content type'})")
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BadAnswer("garbage", f"HTTP {status}: the answer is not valid JSON") from None
        if not isinstance(doc, dict):
            raise BadAnswer("shape", f"HTTP {status}: the answer is not a JSON object")
        if version is not None and version not in protocol.SUPPORTED_VERSIONS:
            raise BadAnswer("version", f"the server speaks protocol {version}; this terminal speaks "
                                       f"{', '.join(protocol.SUPPORTED_VERSIONS)}")
        if 200 <= status < 300:
            return doc
        code = doc.get("error")
        if not isinstance(code, str):
            if status in (500, 502, 503, 504):
                raise LinkDown(f"HTTP {status}", f"服务器返回 {status}")
            raise BadAnswer("shape", f"HTTP {status} without an error code")
        details = {k: v for k, v in doc.items() if k not in ("error", "message", "message_zh")}
        raise ProtocolError(code, str(doc.get("message") or code), status=status, **details)
