"""Every benchmark `kezhan bench` knows, by name, in the order they run."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `kezhan --help` lists the names without loading the harness
    from app.bench.harness import Figure

# name -> "module:function"; the function takes no required arguments and returns a Figure.
BENCHMARKS: dict[str, str] = {
    "sale_commit": "app.bench.sale:sale_commit",
    "destination_search": "app.bench.search:destination_search",
    "ui_keystroke": "app.ui.bench:ui_keystroke",
    "sync_upload": "app.bench.sync:sync_upload",
    "sync_initial_pull": "app.bench.sync:sync_initial_pull",
    "shift_settlement": "app.bench.settlement:shift_settlement",
    "db_check": "app.bench.retention:db_check",
    "gate_verdict": "app.bench.gate:gate_verdict",
    "gate_keystroke": "app.ui.bench:gate_keystroke",
    "cold_start": "app.bench.startup:cold_start",
    "rss_start": "app.bench.startup:rss_start",
}


def resolve(name: str) -> Callable[[], Figure] | None:
    """The benchmark function, or None when its module is not part of this build."""
    module_name, _, func = BENCHMARKS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, func, None)
