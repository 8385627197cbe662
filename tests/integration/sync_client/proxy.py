"""A fault-injecting HTTP/1.1 proxy on loopback, between a terminal and the real server.

It understands just enough HTTP (a head, then a Content-Length body) to act on whole requests and
whole answers, which is what the faults are about:

* ``drop_request``  — the request never reaches the server; the client's connection is closed;
* ``drop_response`` — the server gets the request and commits, the answer is thrown away;
* ``cut_response``  — half the answer goes back, then the connection is closed (cut mid-body);
* ``delay``         — the answer is held back ``delay`` seconds (beyond the client's timeout, say);
* ``replace``       — the server is not asked; the proxy answers with given bytes (garbage, HTML...);
* ``tamper_request`` / ``tamper_response`` — a function rewrites the bytes on their way;
* ``cut()``         — the link is down: every connection is closed and new ones are refused.

Faults are queued per request (``plan``) or set permanently (``mode``); ``log`` records what each
request was and what happened to it, and ``requests_seen`` keeps the raw bytes for replay tests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import deque

from sync.client.simulation import CuttableListener


def _read_message(sock: socket.socket, buf: bytearray) -> bytes | None:
    """One HTTP message (head + Content-Length body) from ``sock``; None on EOF before a full head."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf.extend(chunk)
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buf) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf.extend(chunk)
    message = bytes(buf[: end + length])
    del buf[: end + length]
    return message


def http_answer(status: int, body: bytes, content_type: str = "application/json", extra: dict | None = None) -> bytes:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


class FaultProxy(CuttableListener):
    def __init__(self, upstream_port: int, host: str = "127.0.0.1"):
        self.plan: deque = deque()  # per-request faults, used in order: (fault, arg) or None
        self.mode: tuple[str, object] | None = None  # a fault for every request
        self.chooser = None  # or a function of the request line choosing each request's fault
        self.match: str | None = None  # only requests whose first line contains this get faults
        self.log: list[tuple[str, str]] = []
        self.requests_seen: list[bytes] = []
        super().__init__(host, upstream_port, thread_name="proxy")

    # ------------------------------------------------------------------ control

    def faults(self, *items) -> None:
        self.plan.extend(items)

    # ------------------------------------------------------------------ plumbing

    def _serve_connection(self, conn: socket.socket) -> None:
        with self._lock:
            self._socks.add(conn)
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _next_fault(self, first_line: str):
        if self.match and self.match not in first_line:
            return None
        if self.plan:
            return self.plan.popleft()
        if self.chooser is not None:
            return self.chooser(first_line)
        return self.mode

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        cbuf, ubuf = bytearray(), bytearray()
        try:
            while True:
                request = _read_message(client, cbuf)
                if request is None or self.is_cut:
                    return
                first = request.split(b"\r\n", 1)[0].decode("latin-1")
                self.requests_seen.append(request)
                fault = self._next_fault(first)
                kind, arg = fault if fault else (None, None)
                self.log.append((first, kind or "pass"))
                if kind == "drop_request":
                    return
                if kind == "replace":
                    client.sendall(arg)
                    continue
                if kind == "close_after_replace":
                    client.sendall(arg)
                    return
                if kind == "tamper_request":
                    request = arg(request)
                if upstream is None:
                    upstream = socket.create_connection(self.upstream, timeout=30)
                upstream.sendall(request)
                answer = _read_message(upstream, ubuf)
                if answer is None:
                    return
                if kind == "drop_response":
                    return
                if kind == "cut_response":
                    client.sendall(answer[: max(1, len(answer) - max(1, (len(answer) - answer.index(b"\r\n\r\n")) // 2))])
                    return
                if kind == "delay":
                    time.sleep(float(arg))
                if kind == "tamper_response":
                    answer = arg(answer)
                if self.is_cut:
                    return
                client.sendall(answer)
        except OSError:
            return
        finally:
            with self._lock:
                self._socks.discard(client)
            for s in (client, upstream):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.close()
