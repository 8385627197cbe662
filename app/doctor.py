"""`kezhan doctor`: what a technician checks first, each as one line with a verdict.

Checks are plain functions returning :class:`Check`; one that raises is a bug in the check, and is
reported as a failure of that check rather than hiding the others.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from app import config as config_mod
from app import paths
from app.errors import KezhanError

log = logging.getLogger("kezhan.doctor")

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

# Below these the terminal cannot promise to keep a sale: SQLite needs room for the WAL and a backup.
DISK_FAIL_BYTES = 100 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024


@dataclass
class Check:
    name: str
    status: str
    detail: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    config_path: Path | None = None  # None: KEZHAN_CONFIG, else the data folder's kezhan.toml
    config: config_mod.Config | None = None
    db_report: object | None = None  # app.store.maintenance.CheckReport, computed once


CheckFn = Callable[[Context], Check]


def check_config(ctx: Context) -> Check:
    try:
        ctx.config = config_mod.load(ctx.config_path)
    except KezhanError as exc:
        return Check("config", FAIL, exc.en)
    source = ctx.config.source
    if source is None or not Path(source).exists():
        return Check("config", WARN, f"no config file at {source}: using defaults (see README § Configuration)")
    missing = [name for name, value in (("station.code", ctx.config.station.code),
                                        ("terminal.id", ctx.config.terminal.id)) if not value]
    if missing:
        return Check("config", WARN, f"{source}: not set: {', '.join(missing)}")
    return Check("config", OK, f"{source}: station {ctx.config.station.code}, terminal {ctx.config.terminal.id}")


def _db_report(ctx: Context):
    """One pass of the store's quick check serves both the database and the integrity lines; the full
    one (every index against its table, foreign keys) is `kezhan db check --full`, minutes on a
    large file where the quick one takes seconds."""
    if ctx.db_report is None and ctx.config is not None:
        from app.store import maintenance

        ctx.db_report = maintenance.check(ctx.config.db_path, full=False)
    return ctx.db_report


def check_database(ctx: Context) -> Check:
    if ctx.config is None:
        return Check("database", SKIP, "no usable config")
    path = ctx.config.db_path
    if not path.exists():
        return Check("database", FAIL, f"no database file at {path} (run `kezhan db migrate`)")
    report = _db_report(ctx)
    if report.revision is None or report.revision != report.head:
        return Check("database", FAIL, report.problems[0] if report.problems else f"{path}: empty database")
    from app.services.retention import retention_info

    size = path.stat().st_size
    retention = retention_info(path, ctx.config.database.keep_days)
    return Check("database", OK, f"{path}: schema {report.revision}, {size / 1e6:.1f} MB, "
                                 f"{report.outbox_events} outbox events; {retention.line()}")


def check_integrity(ctx: Context) -> Check:
    if ctx.config is None or not ctx.config.db_path.exists():
        return Check("integrity", SKIP, "no database")
    report = _db_report(ctx)
    if report.revision is None:
        return Check("integrity", SKIP, "the database could not be opened")
    faults = [p for p in report.problems if not p.startswith("结构版本")]
    if faults:
        return Check("integrity", FAIL, "; ".join(faults) + " — see `kezhan db check`, restore with `kezhan db restore`")
    return Check("integrity", OK, f"quick_check ok in {report.seconds:.1f} s, outbox seq without gaps "
                                  "(every index and the foreign keys: `kezhan db check --full`)")


def check_sync_alarm(ctx: Context) -> Check:
    """A standing sync alarm stops the counter (no sale, refund, change...): the first thing to know."""
    if ctx.config is None or not ctx.config.db_path.exists():
        return Check("sync alarm", SKIP, "no database")
    import sqlite3

    from app.services.context import ALARM_CURSOR, alarm_refusal, standing_alarm

    try:
        con = sqlite3.connect(f"{ctx.config.db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            alarm = standing_alarm(con.cursor())
        finally:
            con.close()
    except sqlite3.Error as exc:
        return Check("sync alarm", SKIP, f"could not read {ALARM_CURSOR!r} from sync_cursors: {exc}")
    if alarm is None:
        return Check("sync alarm", OK, "none: the counter may sell")
    return Check("sync alarm", FAIL, alarm_refusal(alarm).en + " Details: `kezhan sync --status`; after the cause "
                 "is dealt with (right file restored, or reconciled with the province admin): "
                 "`kezhan sync clear-alarm`.")


def check_data_folder(ctx: Context) -> Check:
    """A ProgramData folder made read-only by a policy lets the window start and then fail its first write."""
    folder = ctx.config.db_path.parent if ctx.config else paths.data_dir()
    if not folder.exists():
        return Check("data", FAIL, f"{folder} does not exist")
    problem = paths.writable_problem(folder)
    if problem:
        return Check("data", FAIL, f"{folder} is not writable ({problem}): give the station's Windows users "
                                   "write access to it, or set KEZHAN_HOME")
    if paths.is_legacy_per_user(paths.data_dir()):
        return Check("data", WARN, f"{folder} is this Windows account's own folder, from before the data became "
                                   "machine-wide: with the window closed, move its files to %PROGRAMDATA%\\Kezhan "
                                   "so every account sells as this one terminal")
    return Check("data", OK, f"{folder} is writable")


def check_disk(ctx: Context) -> Check:
    folder = ctx.config.db_path.parent if ctx.config else paths.data_dir()
    folder = folder if folder.exists() else paths.data_dir()
    free = shutil.disk_usage(folder).free
    detail = f"{free / 1e9:.1f} GB free in {folder}"
    if free < DISK_FAIL_BYTES:
        return Check("disk", FAIL, detail + " — sales cannot be kept safely; free some space")
    if free < DISK_WARN_BYTES:
        return Check("disk", WARN, detail)
    return Check("disk", OK, detail)


def check_clock(ctx: Context) -> Check:
    now = datetime.now(UTC)
    if now.year < 2024:
        return Check("clock", FAIL, f"the system clock reads {now:%Y-%m-%d}: set the date (tickets carry it)")
    zone_name = ctx.config.station.timezone if ctx.config else "Asia/Shanghai"
    try:
        local = now.astimezone(ctx.config.zone if ctx.config else config_mod.Config().zone)
    except Exception as exc:  # a missing tzdata is a broken install, reported, not raised
        return Check("clock", FAIL, f"time zone {zone_name} unavailable: {exc}")
    drift = abs(time.time() - now.timestamp())
    return Check("clock", OK, f"{local:%Y-%m-%d %H:%M:%S} {zone_name}" + (f" (drift {drift:.1f}s)" if drift > 1 else ""))


def check_font(ctx: Context) -> Check:
    from drivers.printer.errors import FontNotFoundError
    from drivers.printer.fonts import find_cjk_font

    try:
        return Check("font", OK, f"CJK font for previews: {find_cjk_font()}")
    except FontNotFoundError as exc:
        return Check("font", FAIL, f"{exc.en} — print previews cannot show Chinese (install fonts-wqy-microhei)")


def check_printer(ctx: Context) -> Check:
    target = ctx.config.printer.target if ctx.config else ""
    if not target:
        return Check("printer", SKIP, "no printer configured (printer.target): tickets go to the preview only")
    from drivers.printer.errors import PrinterError
    from drivers.printer.transport import query_status

    try:
        status = query_status(target, timeout=3.0)
    except PrinterError as exc:
        return Check("printer", FAIL, f"{target}: {exc.en}")
    if not status.answered:
        return Check("printer", WARN, f"{target}: reachable but it did not answer a status query "
                                      "(some printers never do; a test print tells)")
    if not status.ready:
        return Check("printer", FAIL, f"{target}: {', '.join(status.conditions)}")
    extra = " (paper near end)" if status.paper_near_end else ""
    return Check("printer", OK if not extra else WARN, f"{target}: ready{extra}")


def check_reader(ctx: Context) -> Check:
    port = ctx.config.reader.port if ctx.config else ""
    if not port:
        return Check("reader", SKIP, "no ID card reader configured (reader.port): documents are typed")
    from drivers.idcard import Reader
    from drivers.idcard.errors import ReaderError

    baud = ctx.config.reader.baud
    try:
        with Reader(port, baud=baud if baud == "auto" else int(baud), timeout=1.0) as reader:
            reader.sam_status()
            rate = reader.baudrate
    except ReaderError as exc:
        return Check("reader", FAIL, f"{port}: {exc.en}")
    return Check("reader", OK, f"{port}: SAM answers at {rate} baud")


def check_server(ctx: Context) -> Check:
    url = ctx.config.server.url if ctx.config else ""
    if not url:
        return Check("server", SKIP, "no provincial server configured (server.url): selling offline only")
    import requests

    started = time.time()
    try:
        answer = requests.get(url.rstrip("/") + "/v1/health", timeout=(3, 5))
        data = answer.json()
        server_time = float(data["server_time"])
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        return Check("server", FAIL, f"{url}: no usable answer ({type(exc).__name__}: {exc})")
    finished = time.time()
    offset = server_time - (started + finished) / 2
    detail = f"{url}: protocol {data.get('protocol')}, round trip {1000 * (finished - started):.0f} ms, " \
             f"clock offset {offset:+.1f} s"
    if abs(offset) > 300:
        # Signed requests more than five minutes off are refused by the server.
        return Check("server", FAIL, detail + " — set this PC's clock: the server refuses requests 5 min off")
    return Check("server", OK if abs(offset) < 30 else WARN, detail)


CHECKS: list[CheckFn] = [check_config, check_database, check_integrity, check_sync_alarm, check_data_folder,
                         check_disk, check_clock,
                         check_font, check_printer, check_reader, check_server]


def run_checks(checks: list[CheckFn] | None = None, *, config_path: Path | None = None) -> list[Check]:
    ctx = Context(config_path=config_path)
    results = []
    for fn in checks or CHECKS:
        try:
            results.append(fn(ctx))
        except KezhanError as exc:
            results.append(Check(fn.__name__.removeprefix("check_"), FAIL, exc.en))
        except Exception as exc:
            log.exception("doctor check %s failed", fn.__name__)
            results.append(Check(fn.__name__.removeprefix("check_"), FAIL, f"check crashed: {type(exc).__name__}: {exc}"))
    return results
