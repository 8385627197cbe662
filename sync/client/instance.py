"""Which copy of the terminal's data is running: the instance id sent with every request.

A terminal's identity (its id, secret and counters) lives in its database, so a data folder copied
to a second PC is a second terminal with the same identity: both would sell the same ticket ids,
stock numbers and seqs. The instance id tells the copies apart. It is made at the data's first start
on a PC and kept beside the database (``<file>.instance``, not inside it) with the PC it was made
on; a copy started on another PC finds a file made elsewhere and makes its own id. The server binds
a terminal identity to the first instance that calls and refuses any other (INSTANCE_CONFLICT).

The database remembers the instance the server last accepted for it (setting ``instance_id``). A
file that starts under another instance than that one was copied or moved: it sells nothing until
the server has accepted the new instance (alarm INSTANCE_NEW, cleared by the first clean sync), so
a clone is stopped before its first sale even while the link is down.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import secrets
import sys
from datetime import datetime
from pathlib import Path

from app.services.context import ALARM_CURSOR
from app.store import outbox, sync_state
from app.store.engine import Database, raw_cursor
from app.store.models import iso_utc
from sync.protocol import INSTANCE_PATTERN

log = logging.getLogger("kezhan.sync")

INSTANCE_SETTING = "instance_id"
NEW_ALARM = "INSTANCE_NEW"
NEW_TEXT = (
    "本机数据库上次由另一台电脑或另一份副本使用（数据文件夹被复制或搬移）：须先由省平台确认本机不是另一台正在使用的"
    "终端的副本，确认前暂停售票。连上省平台后自动核对。",
    "This database was last used by another PC or another copy (the data folder was copied or moved): it "
    "sells nothing until the provincial server confirms this is not a copy of a terminal still in use. The "
    "check runs by itself once the server is reachable.",
)


LOST_ALARM = "EVENTS_LOST"
LOST_TEXT = (
    "本机数据库缺少省平台已确认的事件（数据库文件损坏或被换成旧的副本）：暂停售票，连上省平台后核对编号；"
    "请联系技术员。",
    "This database lacks events the provincial server has acknowledged (the file was damaged or replaced by "
    "an older copy): selling stops until the numbers are checked with the server; call a technician.",
)


def side_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".instance")


def machine_fingerprint() -> str:
    """This PC: its name and the operating system's own machine id (MachineGuid on Windows,
    /etc/machine-id elsewhere). Not the network card: USB and VPN adapters come and go."""
    return hashlib.sha256(f"{platform.node()}|{_machine_id()}".encode()).hexdigest()


def _machine_id() -> str:
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            return ""
    for name in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            text = Path(name).read_text(encoding="ascii", errors="replace").strip()
            if text:
                return text
    return ""


def local_instance(db_path: Path, machine: str | None = None) -> str:
    """The instance id of the data at ``db_path`` on this PC, made (and kept beside the file) when
    the file beside it is missing or was made on another PC. ``machine``: the PC's fingerprint
    (tests play a second PC with another one)."""
    machine = machine or machine_fingerprint()
    path = side_path(Path(db_path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("machine") == machine and INSTANCE_PATTERN.match(str(data.get("instance_id"))):
            return str(data["instance_id"])
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    made = secrets.token_urlsafe(16)
    try:
        _write_side(path, {"instance_id": made, "machine": machine})
    except OSError as exc:
        # An unwritable folder: this run still has an id; the next start makes another one and the
        # server, seeing a new instance, refuses it -- loud, never silent.
        log.warning("cannot keep the instance id beside the database (%s): %s", path, exc)
    return made


def _read_side(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_side(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def note_acked(db_path: Path, instance_id: str, seq: int) -> None:
    """The server has acknowledged events up to ``seq``: remembered beside the database, where a
    damaged WAL or an older copy of the file cannot take it back. Written per acknowledged batch,
    never per sale."""
    path = side_path(Path(db_path))
    data = _read_side(path)
    if data.get("instance_id") != instance_id or int(data.get("acked_seq") or 0) >= seq:
        return
    try:
        _write_side(path, {**data, "acked_seq": seq})
    except OSError as exc:
        log.warning("cannot note the acknowledged seq beside the database (%s): %s", path, exc)


def note_start(db: Database, instance_id: str, terminal_id: str, now: datetime) -> str | None:
    """At the sync client's start, before any request: the alarm this file must not sell under
    (raised unless another alarm already stands), or None. INSTANCE_NEW: the server last accepted
    this file under another instance (it was copied or moved). EVENTS_LOST: the server has
    acknowledged more events than the file's counter ever issued (noted beside the file)."""
    acked_beside = int(_read_side(side_path(Path(db.path))).get("acked_seq") or 0)
    with db.transaction() as session:
        cur = raw_cursor(session)
        accepted = sync_state.setting_value(cur, INSTANCE_SETTING)
        issued = outbox.counter_value(cur, f"outbox_seq:{terminal_id}")
        if accepted is not None and accepted != instance_id:
            code, text, details = NEW_ALARM, NEW_TEXT, {"previous_instance": accepted, "instance": instance_id}
        elif acked_beside > issued:
            code, text, details = LOST_ALARM, LOST_TEXT, {"acked_seq": acked_beside, "local_last": issued}
        else:
            return None
        if sync_state.cursor_value(cur, ALARM_CURSOR) is None:
            value = json.dumps({"code": code, "message": text[0], "en": text[1], "at": iso_utc(now), **details},
                               ensure_ascii=False)
            sync_state.put_cursor_value(cur, ALARM_CURSOR, value, iso_utc(now))
    log.warning("sync alarm %s at start-up: %s", code, details)
    return code


def accepted(db: Database, instance_id: str) -> None:
    """The server has answered a request of this instance: it is the one this file belongs to."""
    with db.transaction() as session:
        cur = raw_cursor(session)
        if sync_state.setting_value(cur, INSTANCE_SETTING) != instance_id:
            sync_state.put_setting_value(cur, INSTANCE_SETTING, instance_id)
