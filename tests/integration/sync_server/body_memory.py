"""What unauthenticated bodies cost the reference server's memory: 12 concurrent 8 MiB bodies.

    python -m tests.integration.sync_server.body_memory [--senders 12] [--mib 8]

Starts ``kezhan server`` on loopback in its own process, enrols one terminal, then sends, 12 at a
time, near-8-MiB bodies that no one may send: with an unknown terminal id, with no admin token, and
with the enrolled terminal's id but a wrong signature (to a route with a small body, then to the
upload, whose signature covers the body, so the body must be read). Prints the server's resident
memory (``VmRSS``, and the peak ``VmHWM``) before and after each round. Reads ``/proc``: Linux only,
a measurement, not a test (no figure here is asserted anywhere).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sync import protocol
from tests.integration.sync_server.conftest import HOME, province_doc, public_key_b64

TOKEN = "memory-measurement-token"


def rss(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return values["VmRSS"], values["VmHWM"]


def post(port: int, path: str, headers: dict, body: bytes) -> int | str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                       protocol.H_PROTOCOL: "1", **headers})
        return conn.getresponse().status
    except OSError as exc:  # a server that refuses before reading may close while we still send
        return type(exc).__name__
    finally:
        conn.close()


def attack(port: int, path: str, headers: dict, senders: int, size: int) -> list:
    body = b'{"events": [' + b" " * (size - 15) + b"]}"
    results: list = [None] * senders

    def one(i):
        results[i] = post(port, path, headers, body)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--senders", type=int, default=12)
    ap.add_argument("--mib", type=float, default=8)
    args = ap.parse_args(argv)
    size = int(args.mib * 1024 * 1024) - 4096  # just under the default 8 MiB limit
    with tempfile.TemporaryDirectory() as tmp:
        province = Path(tmp) / "province.json"
        province.write_text(json.dumps(province_doc()), encoding="utf-8")
        kezhan = Path(sys.executable).with_name("kezhan")
        proc = subprocess.Popen([str(kezhan), "server", "serve", "--db", str(Path(tmp) / "p.db"), "--port", "0",
                                 "--province", str(province), "--admin-token", TOKEN],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = None
            for line in proc.stdout:
                m = re.search(r"listening on http://[^:]+:(\d+)", line)
                if m:
                    port = int(m.group(1))
                    break
            assert port, "the server did not start"
            for _ in range(100):  # "listening" is printed as the socket is bound, before uvicorn serves
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    probe.request("GET", "/v1/health")
                    probe.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.1)
            admin = {"Authorization": f"Bearer {TOKEN}"}
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/v1/admin/enrolment-codes", body=json.dumps({"station": HOME}),
                         headers={**admin, protocol.H_PROTOCOL: "1", "Content-Type": "application/json"})
            code = json.loads(conn.getresponse().read())["code"]
            conn.request("POST", "/v1/enrol", body=json.dumps({"code": code, "public_key": public_key_b64()}),
                         headers={protocol.H_PROTOCOL: "1", "Content-Type": "application/json"})
            terminal_id = json.loads(conn.getresponse().read())["terminal_id"]
            conn.close()
            time.sleep(0.5)

            def signed(tid):
                return {protocol.H_TERMINAL: tid, protocol.H_TIMESTAMP: str(int(time.time())),
                        protocol.H_NONCE: protocol.new_nonce(), protocol.H_SIGNATURE: "0" * 64}

            rounds = [
                ("unknown terminal, POST /v1/events", "/v1/events", signed("330102001-T99")),
                ("no admin token, POST /v1/admin/province", "/v1/admin/province", {}),
                ("known terminal, wrong signature, POST /v1/leases", "/v1/leases", signed(terminal_id)),
                ("known terminal, wrong signature, POST /v1/events", "/v1/events", signed(terminal_id)),
            ]
            before, _ = rss(proc.pid)
            print(f"server RSS at rest: {before:.0f} MiB")
            for label, path, headers in rounds:
                results = attack(port, path, headers, args.senders, size)
                now, peak = rss(proc.pid)
                answers = {r: results.count(r) for r in set(results)}
                print(f"{args.senders} x {args.mib:g} MiB, {label}: answers {answers}; "
                      f"RSS {now:.0f} MiB, peak so far {peak:.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
