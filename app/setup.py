"""Setting a station PC up: the steps the wizard (app/ui/setup_wizard.py) and ``kezhan setup`` share.

Qt-free. Each step is a method of :class:`SetupSession` that returns a :class:`StepResult` (never
raises for something a technician can cause) and changes ``session.config`` in memory; ``save()``
writes kezhan.toml. Every step can be run again: running it with the same answers gives the same
result (the terminal enrolled once stays that terminal, the account keeps its code).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app import config as config_mod
from app import paths
from app.errors import ConfigError, KezhanError

log = logging.getLogger("kezhan.setup")

STEPS = ("language", "role", "server", "printer", "reader", "scanner", "password")
TITLES = {
    "language": ("语言", "Language"),
    "role": ("终端用途", "Role"),
    "server": ("省平台与注册", "Server and enrolment"),
    "printer": ("打印机", "Printer"),
    "reader": ("身份证读卡器", "ID card reader"),
    "scanner": ("扫码枪", "Scanner"),
    "password": ("技术员密码", "Technician password"),
    "checklist": ("检查清单", "Checklist"),
}
TECHNICIAN_CODE = "9901"
MIN_PASSWORD = 6
ENROL_ATTEMPTS = 5
ENROL_BACKOFF = 0.5  # seconds before the second try; doubled each time


@dataclass
class StepResult:
    step: str
    ok: bool
    zh: str
    en: str
    data: dict = field(default_factory=dict)
    skipped: bool = False

    def text(self, language: str = "zh_CN") -> str:
        return self.en if language.startswith("en") else self.zh

    def to_json(self) -> dict:
        return {"step": self.step, "ok": self.ok, "skipped": self.skipped, "message": self.en,
                "message_zh": self.zh, **self.data}


def _failed(step: str, exc: KezhanError) -> StepResult:
    return StepResult(step, False, exc.message, exc.en, {"code": exc.code})


def _mask(number: str) -> str:
    from app.domain.identity import mask

    return mask(number)


def config_path() -> Path:
    return Path(os.environ.get("KEZHAN_CONFIG") or paths.config_file())


def readiness(path: Path | None = None) -> list[str]:
    """The steps a terminal still needs before the counter or the gate can open (empty: ready).

    Reader and scanner are optional (documents can be typed, a wedge scanner needs nothing set);
    a printer is needed where tickets are sold."""
    path = Path(path or config_path())
    if not path.exists():
        return list(STEPS)
    try:
        config = config_mod.load(path)
    except KezhanError:
        return list(STEPS)
    missing = []
    if config.terminal.role in ("gate", "both") and not config.terminal.gates:
        missing.append("role")
    # A file that exists but cannot be read (damaged, locked, not a database) is not the wizard's
    # to fix: the window refuses it with the technician's way out (kezhan db check / restore).
    if not config.server.url or _count(config.db_path, "SELECT COUNT(*) FROM sync_identity") == 0:
        missing.append("server")
    if config.terminal.role in ("window", "both") and not config.printer.target:
        missing.append("printer")
    if _count(config.db_path, "SELECT COUNT(*) FROM users WHERE role = 'technician' AND active = 1") == 0:
        missing.append("password")
    return missing


def _count(db_path: Path, query: str) -> int | None:
    """One count read without migrating or creating anything: 0 without a file, None if unreadable."""
    import sqlite3

    if not db_path.exists():
        return 0
    try:
        con = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(con.execute(query).fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        # An empty or older file without the table: still to set up; anything else: unreadable.
        return 0 if "no such table" in str(exc) else None
    except sqlite3.Error:
        return None


class SetupSession:
    """One run of the wizard or of ``kezhan setup``: the configuration being built and each step's result.

    ``sleep`` is the wait between enrolment tries (tests pass a no-op). The enrolment's idempotency
    key is made once per session, and the client keeps the key pair sent with it: every retry of
    this run, whichever step asks, presents the same ones, so a retry after a lost answer is the
    same terminal to the server.
    """

    def __init__(self, path: Path | None = None, *, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = ENROL_ATTEMPTS, backoff: float = ENROL_BACKOFF) -> None:
        self.path = Path(path or config_path())
        try:
            self.config = config_mod.load(self.path)
        except ConfigError as exc:
            # A broken file is what the wizard is for: start from defaults, the save replaces it.
            log.warning("setting up over an unreadable configuration: %s", exc.en)
            self.config = config_mod.Config(source=self.path)
        self.results: dict[str, StepResult] = {}
        self.sleep = sleep
        self.attempts = attempts
        self.backoff = backoff
        self.idempotency_key = secrets.token_hex(16)

    # -- bookkeeping ---------------------------------------------------------------------------

    def record(self, result: StepResult) -> StepResult:
        self.results[result.step] = result
        log.info("setup step %s: %s", result.step, "ok" if result.ok else f"failed: {result.en}")
        return result

    def failed_steps(self) -> list[str]:
        return [s for s in STEPS if s in self.results and not self.results[s].ok]

    def save(self) -> Path:
        return config_mod.save(self.config, self.path)

    # -- language and role ---------------------------------------------------------------------

    def set_language(self, language: str) -> StepResult:
        if language not in ("zh_CN", "en"):
            return self.record(StepResult("language", False, f"未知语言：{language}", f"unknown language {language!r}"))
        self.config.terminal.language = language
        return self.record(StepResult("language", True, "界面语言：中文" if language == "zh_CN" else "界面语言：英文",
                                      f"language: {'Chinese' if language == 'zh_CN' else 'English'}"))

    def set_role(self, role: str, gates: str = "") -> StepResult:
        names = {"window": ("售票窗口", "ticket window"), "gate": ("检票口", "gate"), "both": ("售票兼检票", "window and gate")}
        if role not in names:
            return self.record(StepResult("role", False, f"未知用途：{role}", f"unknown role {role!r}: window, gate or both"))
        try:
            numbers = config_mod.parse_gates(gates)
        except ValueError as exc:
            return self.record(StepResult("role", False, f"检票口编号无效：{gates}", str(exc)))
        if role in ("gate", "both") and not numbers:
            return self.record(StepResult("role", False, "检票终端须填写检票口编号，例如 3,4",
                                          "a gate terminal needs its gate numbers, e.g. 3,4"))
        self.config.terminal.role = role
        self.config.terminal.gates = numbers
        gate_text = f"，检票口 {','.join(numbers)}" if numbers else ""
        return self.record(StepResult("role", True, f"用途：{names[role][0]}{gate_text}",
                                      f"role: {names[role][1]}" + (f", gates {','.join(numbers)}" if numbers else ""),
                                      {"role": role, "gates": numbers}))

    # -- server and enrolment --------------------------------------------------------------------

    def check_link(self, url: str) -> StepResult:
        """Ask the server for its health: round trip and clock offset (the server refuses requests
        more than five minutes off, so a wrong clock is a failure here, not at the first sale)."""
        from sync.client.transport import BadAnswer, LinkDown, Transport

        url = url.strip().rstrip("/")
        try:
            transport = Transport(url, timeout=(3.0, 5.0))
        except ValueError:
            return self.record(StepResult("server", False, f"省平台地址无效：{url}（应以 http:// 或 https:// 开头）",
                                          f"not a server address: {url!r} (it starts with http:// or https://)"))
        try:
            answer = transport.call("GET", "/v1/health", signed=False)
        except (LinkDown, BadAnswer) as exc:
            return self.record(StepResult("server", False, f"无法连接省平台 {url}：{exc.message}",
                                          f"cannot use the server at {url}: {exc.en}", {"code": exc.code}))
        except KezhanError as exc:
            return self.record(_failed("server", exc))
        finally:
            transport.close()
        offset = float(answer.get("server_time", 0)) - time.time() if "server_time" in answer else transport.offset
        offset = round(offset, 1) + 0.0  # no "-0.0"
        rtt_ms = round(1000 * (transport.rtt or 0))
        data = {"url": url, "offset_s": round(offset, 1), "rtt_ms": rtt_ms, "protocol": answer.get("protocol")}
        if abs(offset) > 300:
            return self.record(StepResult(
                "server", False, f"本机时钟与省平台相差 {offset:+.0f} 秒：请先校准时钟（超过 5 分钟的请求会被拒绝）",
                f"this PC's clock is {offset:+.0f} s off the server's: set it first (requests 5 min off are refused)",
                data))
        return self.record(StepResult("server", True, f"{url} 连接正常，往返 {rtt_ms} 毫秒，时钟偏差 {offset:+.1f} 秒",
                                      f"{url} answers: round trip {rtt_ms} ms, clock offset {offset:+.1f} s", data))

    def enrol(self, url: str, code: str, *, label: str = "") -> StepResult:
        """Create or upgrade the database, then enrol with ``code``, retrying a link that drops.

        Already enrolled with this server: the same terminal, nothing sent. Enrolled with another
        server: refused (a second identity would restart the event sequence)."""
        from app.services.station import open_station
        from sync.client.identity import load_identity

        url = url.strip().rstrip("/")
        link = self.check_link(url)
        wait = self.backoff
        for _attempt in range(1, self.attempts):
            if link.ok or link.data.get("code") != "LINK_DOWN":
                break
            self.sleep(wait)  # the same patience with a lossy link as the enrolment itself
            wait *= 2
            link = self.check_link(url)
        if not link.ok:
            return link
        try:
            db = open_station(self.config.db_path)
        except KezhanError as exc:
            return self.record(_failed("server", exc))
        try:
            existing = load_identity(db)
            if existing is not None:
                if existing.server_url.rstrip("/") != url:
                    return self.record(StepResult(
                        "server", False, f"本终端已在另一省平台注册为 {existing.terminal_id}（{existing.server_url}）",
                        f"this terminal is enrolled as {existing.terminal_id} with another server "
                        f"({existing.server_url})", {"terminal_id": existing.terminal_id}))
                answer = {"terminal_id": existing.terminal_id, "station": existing.station_code, "server": url,
                          "already": True}
            else:
                if not code.strip():
                    return self.record(StepResult("server", False, "请输入注册码", "enter the enrolment code"))
                answer = self._enrol_with_retries(db, url, code.strip().upper(), label)
                if isinstance(answer, StepResult):
                    return self.record(answer)
        finally:
            db.engine.dispose()
        self.config.server.url = url
        self.config.station.code = answer["station"]
        self.config.terminal.id = answer["terminal_id"]
        again = "（已注册，未重复注册）" if answer.get("already") else ""
        return self.record(StepResult(
            "server", True, f"已注册为 {answer['terminal_id']}（车站 {answer['station']}）{again}",
            f"enrolled as {answer['terminal_id']} (station {answer['station']})"
            + (" — already enrolled, nothing sent" if answer.get("already") else ""),
            link.data | {"terminal_id": answer["terminal_id"], "station": answer["station"],
                         "already_enrolled": bool(answer.get("already"))}))

    def _enrol_with_retries(self, db, url: str, code: str, label: str) -> dict | StepResult:
        from sync.client.identity import enrol

        wait = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                # One try per call: the waits are this session's (its backoff, its sleep); the
                # client keeps the key pair of this idempotency key between calls.
                return enrol(db, url, code, label=label, idempotency_key=self.idempotency_key, attempts=1)
            except KezhanError as exc:
                if exc.code not in ("LINK_DOWN", "BAD_ANSWER") or attempt == self.attempts:
                    hint = {
                        "ENROL_CODE_INVALID": ("注册码无效：请核对后重新输入", "the enrolment code is not valid: check it"),
                        "ENROL_CODE_USED": ("注册码已被使用：请向省平台管理员申请新码",
                                            "the enrolment code was already used: ask for a new one"),
                        "ENROL_CODE_EXPIRED": ("注册码已过期：请向省平台管理员申请新码",
                                               "the enrolment code has expired: ask for a new one"),
                    }.get(exc.code)
                    zh, en = hint if hint else (exc.message, exc.en)
                    return StepResult("server", False, zh, en, {"code": exc.code, "attempts": attempt})
                log.info("enrolment try %d failed (%s); again in %.1f s", attempt, exc.en, wait)
                self.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    # -- printer -------------------------------------------------------------------------------

    @staticmethod
    def printers() -> list:
        from drivers.printer.discover import candidates

        return candidates()

    def set_printer(self, target: str, *, profile: str | None = None, test: bool = True,
                    timeout: float = 5.0, allow_silent: bool = False) -> StepResult:
        """Choose the printer and print a test ticket on it (``test=False``: only check the target).

        A printer that took the ticket but never answers a status query fails the step, since
        it may as well be a port that swallows bytes; ``allow_silent`` keeps it, once the
        technician has seen the ticket come out (some network printers never answer)."""
        from drivers.printer.errors import PrinterError
        from drivers.printer.layout import PROFILES
        from drivers.printer.targets import parse_target

        target = target.strip()
        profile = profile or self.config.printer.profile or "80mm"
        if profile not in PROFILES:
            return self.record(StepResult("printer", False, f"未知的纸张：{profile}",
                                          f"unknown printer profile {profile!r}; known: {', '.join(PROFILES)}"))
        try:
            parsed = parse_target(target)
        except PrinterError as exc:
            return self.record(_failed("printer", exc))
        if test:
            result = self.test_print(str(parsed) if parsed.kind not in ("win", "file") else target,
                                     profile=profile, timeout=timeout, allow_silent=allow_silent)
            if not result.ok:
                return result
        self.config.printer.target = target
        self.config.printer.profile = profile
        return self.record(StepResult("printer", True, f"打印机：{target}（{profile}）",
                                      f"printer: {target} ({profile})", {"target": target, "profile": profile}))

    def _send(self, target: str, data: bytes, timeout: float, what: tuple[str, str],
              allow_silent: bool = False) -> StepResult:
        from drivers.printer.errors import PrinterError
        from drivers.printer.targets import parse_target
        from drivers.printer.transport import print_bytes

        try:
            can_answer = parse_target(target).can_answer
            result = print_bytes(target, data, timeout=timeout, require_answer=can_answer and not allow_silent)
        except PrinterError as exc:
            return self.record(_failed("printer", exc))
        if not result.ok and result.sent and not result.confirmed:
            return self.record(StepResult(
                "printer", False,
                f"{what[0]}已发送，但打印机没有回应状态查询。若{what[0]}已打出，可保留此打印机"
                "（向导中按 Ctrl+Enter；kezhan setup 加 --allow-silent）",
                f"the {what[1]} was sent but the printer did not answer the status query. If it came out, "
                "keep this printer (Ctrl+Enter in the wizard; kezhan setup --allow-silent)",
                {"target": target, "silent": True}))
        if not result.ok:
            return self.record(StepResult("printer", False, result.reason_zh or "打印机未就绪", result.reason or "not ready",
                                          {"target": target}))
        return self.record(StepResult("printer", True, f"{what[0]}已发送到 {target}", f"{what[1]} sent to {target}",
                                      {"target": target, "bytes": len(data)}))

    def test_print(self, target: str, *, profile: str | None = None, timeout: float = 5.0,
                   allow_silent: bool = False) -> StepResult:
        from drivers.printer.errors import PrinterError
        from drivers.printer.layout import render_test_ticket

        try:
            data = render_test_ticket(profile or self.config.printer.profile, **self._offsets())
        except PrinterError as exc:
            return self.record(_failed("printer", exc))
        return self._send(target, data, timeout, ("测试票", "test ticket"), allow_silent)

    def calibration_page(self, target: str | None = None, *, timeout: float = 5.0) -> StepResult:
        from drivers.printer.layout import render_calibration_page

        target = target or self.config.printer.target
        if not target:
            return self.record(StepResult("printer", False, "请先选择打印机", "choose a printer first"))
        return self._send(target, render_calibration_page("preprinted", **self._offsets()), timeout,
                          ("校准页", "calibration page"))

    def _offsets(self) -> dict:
        return {"offset_x_mm": self.config.printer.offset_x_mm, "offset_y_mm": self.config.printer.offset_y_mm}

    def set_offsets(self, x_mm: float, y_mm: float) -> StepResult:
        if not (-20 <= x_mm <= 20 and -20 <= y_mm <= 20):
            return self.record(StepResult("printer", False, "偏移应在 -20 至 20 毫米之间",
                                          "offsets are -20..20 mm"))
        self.config.printer.offset_x_mm = round(float(x_mm), 1)
        self.config.printer.offset_y_mm = round(float(y_mm), 1)
        return self.record(StepResult("printer", True, f"套打偏移：横 {x_mm:+.1f} 毫米，纵 {y_mm:+.1f} 毫米",
                                      f"stock offsets: x {x_mm:+.1f} mm, y {y_mm:+.1f} mm",
                                      {"offset_x_mm": x_mm, "offset_y_mm": y_mm}))

    def preview_png(self) -> bytes:
        """The test ticket as the configured printer would print it, offsets applied."""
        from drivers.printer.layout import render_test_ticket
        from drivers.printer.render import render_png

        return render_png(render_test_ticket(self.config.printer.profile or "80mm", **self._offsets()))

    # -- ID card reader ------------------------------------------------------------------------

    @staticmethod
    def serial_ports() -> list[str]:
        try:
            from serial.tools import list_ports
        except ImportError:  # pragma: no cover
            return []
        return sorted(p.device for p in list_ports.comports())

    def probe_reader(self, port: str = "auto", *, ports: list[str] | None = None) -> StepResult:
        """Find the reader: on ``port``, or (``auto``) on every serial port, at every speed it can be set to."""
        from drivers.idcard import Reader
        from drivers.idcard.errors import ReaderError

        candidates = (ports or self.serial_ports()) if port in ("", "auto") else [port]
        if not candidates:
            return self.record(StepResult("reader", False, "本机没有串口：请接好读卡器后重试",
                                          "no serial ports on this PC: plug the reader in and try again"))
        tried = []
        for candidate in candidates:
            try:
                with Reader(candidate, baud="auto", timeout=1.0, probe_timeout=0.3) as reader:
                    reader.sam_status()
                    rate = reader.baudrate
            except ReaderError as exc:
                tried.append(f"{candidate}: {exc.en}")
                continue
            self.config.reader.port = candidate
            self.config.reader.baud = str(rate)
            return self.record(StepResult("reader", True, f"读卡器在 {candidate}，速率 {rate}",
                                          f"reader found on {candidate} at {rate} baud",
                                          {"port": candidate, "baud": rate}))
        return self.record(StepResult("reader", False, "没有找到读卡器：" + "；".join(tried),
                                      "no reader found: " + "; ".join(tried), {"tried": candidates}))

    def read_test_card(self, timeout: float = 10.0) -> StepResult:
        """Read one card on the configured reader; shows the name's first character and the
        masked number only (a test card may be a real person's)."""
        from drivers.idcard import Reader
        from drivers.idcard.errors import ReaderError

        port = self.config.reader.port
        if not port:
            return self.record(StepResult("reader", False, "请先找到读卡器", "find the reader first"))
        baud = self.config.reader.baud
        try:
            with Reader(port, baud=baud if baud == "auto" else int(baud), timeout=1.0) as reader:
                card = reader.read_card(timeout=timeout)
        except ReaderError as exc:
            return self.record(_failed("reader", exc))
        if card is None:
            return self.record(StepResult("reader", False, "未读到身份证：请把卡放在读卡器上",
                                          "no card read: put a card on the reader"))
        shown = (card.name or card.name_en)[:1] + "**"
        return self.record(StepResult("reader", True, f"读卡成功：{shown} {_mask(card.id_number)}",
                                      f"card read: {shown} {_mask(card.id_number)}"))

    def skip(self, step: str) -> StepResult:
        if step == "reader":
            self.config.reader.port = ""
        elif step == "scanner":
            self.config.scanner.port = ""
        return self.record(StepResult(step, True, "未配置（可稍后设置）", "not set (can be set later)", skipped=True))

    # -- scanner -------------------------------------------------------------------------------

    def test_serial_scanner(self, port: str, timeout: float = 10.0) -> StepResult:
        from drivers.errors import DriverError
        from drivers.scanner.serialport import SerialScanner

        try:
            with SerialScanner(port).open() as scanner:
                scan = scanner.read(timeout=timeout)
        except DriverError as exc:
            return self.record(_failed("scanner", exc))
        if scan is None:
            return self.record(StepResult("scanner", False, f"{timeout:g} 秒内没有扫到码", f"no code scanned in {timeout:g} s"))
        if not scan.ok:
            return self.record(StepResult("scanner", False, scan.message, scan.en))
        self.config.scanner.port = port
        return self.record(StepResult("scanner", True, f"扫码成功：{scan.code}", f"scanned: {scan.code}",
                                      {"port": port, "code": scan.code}))

    def wedge_scanned(self, code: str) -> StepResult:
        """A keyboard-wedge scanner types the code into the wizard's field: nothing to configure."""
        from drivers.scanner.scan import printable

        code = code.strip()
        if not code or not printable(code):
            return self.record(StepResult("scanner", False, "没有收到扫码内容", "nothing was scanned"))
        self.config.scanner.port = ""
        return self.record(StepResult("scanner", True, f"扫码成功（键盘模式）：{code}",
                                      f"scanned (keyboard wedge): {code}", {"code": code}))

    # -- the technician's own account ----------------------------------------------------------

    def set_password(self, password: str, again: str | None = None, *, code: str = TECHNICIAN_CODE) -> StepResult:
        from app.services.auth import set_technician
        from app.services.station import open_station

        if again is not None and password != again:
            return self.record(StepResult("password", False, "两次输入的密码不一致", "the two passwords differ"))
        if len(password) < MIN_PASSWORD or password == code:
            return self.record(StepResult("password", False, f"密码至少 {MIN_PASSWORD} 位，且不能与工号相同",
                                          f"the password needs {MIN_PASSWORD} characters or more, not the user code"))
        try:
            db = open_station(self.config.db_path)
            try:
                set_technician(db, code, password)
            finally:
                db.engine.dispose()
        except KezhanError as exc:
            return self.record(_failed("password", exc))
        return self.record(StepResult("password", True, f"技术员 {code} 的密码已设置",
                                      f"password of technician {code} set", {"code": code}))

    # -- the end -------------------------------------------------------------------------------

    def staff_accounts(self) -> int | None:
        """How many accounts besides the technician's can sign in (clerks, gate checkers,
        supervisors); None when the file cannot be read."""
        return _count(self.config.db_path, "SELECT COUNT(*) FROM users WHERE role <> 'technician' AND active = 1")

    def checklist(self):
        """``kezhan doctor``'s checks on the saved file."""
        from app.doctor import run_checks

        return run_checks(config_path=self.path)
