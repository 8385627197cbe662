"""The station's database as the tools see it (the window, the demo, the bench, the commands):
opening it, and the few reads they need beside the counter operations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.context import Rules
    from app.store.departures import SaleTarget
    from app.store.engine import Database
    from app.store.instance import InstanceLock
    from app.store.tasks import TaskRecord
    from app.store.tickets import ExportedTicket

# The counter window takes the lock before it shows and opens the file after: this module loads the
# store (and SQLAlchemy under it) only when a function that reads the file is called.
_WHERE = {"Database": "app.store.engine", "SaleTarget": "app.store.departures"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "Database",
    "SaleTarget",
    "exported_tickets",
    "hold_station",
    "first_leased_target",
    "home_station",
    "open_station",
    "rules_of",
    "sale_targets",
    "station_name",
    "task_records",
]


def open_station(path: str | Path, *, upgrade: bool = True, verify: bool = False) -> Database:
    """The station's database file, migrated first unless ``upgrade`` is False; with ``verify``, a
    file that fails SQLite's quick check is refused (``DB_CORRUPT``, with the technician's way out)."""
    from app.store.engine import open_database

    return open_database(Path(path), upgrade=upgrade, verify=verify)


def hold_station(path: str | Path, program: str) -> InstanceLock:
    """The database's single-instance lock for ``program``; ``DB_IN_USE`` names the holder."""
    from app.store import instance

    return instance.hold(Path(path), program)


def home_station(db: Database) -> str:
    from app.store.province import get_setting

    with db.read() as session:
        return get_setting(session, "home_station")


def rules_of(db: Database) -> Rules:
    """The province's rules as the operations apply them."""
    from app.services.context import cursor, load_rules

    with db.read() as session:
        return load_rules(cursor(session))


def station_name(db: Database, code: str) -> str:
    """The station's name, its code when the province does not know it."""
    from app.services.context import cursor
    from app.store import departures as departure_store

    with db.read() as session:
        return departure_store.station_name(cursor(session), code) or code


def sale_targets(db: Database, date: str, *, not_before: str = "00:00", by_time: bool = False) -> list[SaleTarget]:
    """Normal departures of ``date`` (local) with the last stop of each route."""
    from app.services.context import cursor
    from app.store import departures as departure_store

    with db.read() as session:
        return departure_store.sale_targets(cursor(session), date, not_before=not_before, by_time=by_time)


def first_leased_target(db: Database, after: str) -> SaleTarget | None:
    """The earliest departure with a seat this terminal could sell offline (a lease unexpired at ``after``)."""
    from app.services.context import cursor
    from app.store import departures as departure_store

    with db.read() as session:
        return departure_store.first_leased_target(cursor(session), after)


def exported_tickets(db: Database) -> tuple[str | None, list[ExportedTicket]]:
    """(this terminal's id if enrolled, every ticket sold here or by another terminal)."""
    from app.services.context import cursor
    from app.store import sync_state
    from app.store import tickets as ticket_store

    with db.read() as session:
        cur = cursor(session)
        return sync_state.enrolled_terminal_id(cur), ticket_store.exported_tickets(cur)


def task_records(db: Database, *, include_closed: bool = False) -> list[TaskRecord]:
    from app.services.context import cursor
    from app.store import tasks as task_store

    with db.read() as session:
        return task_store.task_records(cursor(session), include_closed=include_closed)
