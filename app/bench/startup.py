"""Start-up benchmarks: ``kezhan gui`` from launch to its main window, beside a bare PySide6 window.

* ``cold_start`` — wall time from starting the process to the main window shown (offscreen), on an
  enrolled station (the demo station, built once in a temporary folder, its server stopped). Baseline:
  a bare PySide6 ``QMainWindow`` script launched the same way, by the same interpreter, in the same
  run; the runs alternate so a noisy machine slows both alike. Goal: ≤ 3× the bare window.
* ``rss_start`` — the resident memory of those same processes at the moment their window is shown.
  Goal: ≤ 2× the bare window.

"Shown" is the first turn of the event loop after ``show()``: the child writes the wall clock and its
RSS to the file named by ``KEZHAN_SHOWN_REPORT`` and quits (``app.ui.app`` honours it; the bare
script does the same), so neither figure includes shutting down.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.bench.harness import Figure, percentile

REPORT_ENV = "KEZHAN_SHOWN_REPORT"
GOAL_TIME_RATIO = 3.0
GOAL_RSS_RATIO = 2.0
RUNS = 5


def current_rss_bytes() -> int:
    """This process's resident set size now (Linux: /proc; Windows: the working set; else the peak)."""
    if sys.platform.startswith("linux"):
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if sys.platform.startswith("win"):
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                        ("PeakWorkingSetSize", ctypes.c_size_t), ("WorkingSetSize", ctypes.c_size_t),
                        ("QuotaPeakPagedPoolUsage", ctypes.c_size_t), ("QuotaPagedPoolUsage", ctypes.c_size_t),
                        ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                        ("QuotaNonPagedPoolUsage", ctypes.c_size_t), ("PagefileUsage", ctypes.c_size_t),
                        ("PeakPagefileUsage", ctypes.c_size_t)]

        counters = Counters()
        counters.cb = ctypes.sizeof(counters)
        ctypes.windll.psapi.GetProcessMemoryInfo(ctypes.windll.kernel32.GetCurrentProcess(),
                                                 ctypes.byref(counters), counters.cb)
        return int(counters.WorkingSetSize)
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * (1 if sys.platform == "darwin" else 1024)


# Packages the window's start must not load: Alembic when the schema is current, the reference
# server's stack ever (tests/integration/test_start_footprint.py reads this from the report).
NOT_ON_START = ("alembic", "fastapi", "uvicorn", "starlette", "sync.server", "escpos", "barcode")
# What the window loads after its first paint, behind the sign-in screen: the store's ORM, the
# services, the sync client and its HTTP stack, the terminal's key (``loaded_at_shown`` in the report).
AFTER_FIRST_PAINT = ("sqlalchemy", "app.store.models", "app.services.counter", "sync.client.client", "requests",
                     "nacl", "alembic")


def write_shown_report(path: str | os.PathLike) -> None:
    """What a child tells the bench when its window is shown: the wall clock, its RSS, its modules."""
    loaded = sorted(name for name in NOT_ON_START if name in sys.modules)
    early = sorted(name for name in AFTER_FIRST_PAINT if name in sys.modules)
    Path(path).write_text(json.dumps({"shown": time.time(), "cpu": time.process_time(), "rss": current_rss_bytes(),
                                      "modules": len(sys.modules), "loaded": loaded, "loaded_at_shown": early}),
                          encoding="utf-8")


def write_ready_report(path: str | os.PathLike) -> None:
    """Then, when the window has loaded what signing in needs (the store, the services, the sync
    client), the same figures again as ``ready_*``; ``loaded`` is what is loaded by then (the printer's
    worker may have loaded python-escpos in the meantime: that one is not on the window's path)."""
    report = Path(path)
    data = json.loads(report.read_text(encoding="utf-8"))
    data.update({"ready": time.time(), "ready_cpu": time.process_time(), "ready_rss": current_rss_bytes(),
                 "ready_modules": len(sys.modules),
                 "loaded": sorted(name for name in NOT_ON_START if name in sys.modules)})
    report.write_text(json.dumps(data), encoding="utf-8")


# The baseline: nothing but a PySide6 main window, reporting the same way.
BARE_WINDOW = '''
import json, os, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

{rss}

def report():
    with open(os.environ["{env}"], "w", encoding="utf-8") as fh:
        json.dump({{"shown": time.time(), "cpu": time.process_time(), "rss": current_rss_bytes(),
                   "modules": len(sys.modules)}}, fh)
    app.quit()

app = QApplication([])
window = QMainWindow()
window.resize(1366, 768)
window.show()
QTimer.singleShot(0, report)
app.exec()
'''


def _bare_script(folder: Path) -> Path:
    import inspect

    path = folder / "bare_window.py"
    path.write_text(BARE_WINDOW.format(rss=inspect.getsource(current_rss_bytes), env=REPORT_ENV), encoding="utf-8")
    return path


def _station(folder: Path) -> Path:
    """An enrolled station (the demo's), its pieces stopped: what a counter PC starts on."""
    from app import demo

    station = demo.start_station(folder / "station", with_reader=False)
    station.stop()
    return Path(station.config.source)


def _launch(command: list[str], env: dict[str, str], report: Path) -> dict:
    report.unlink(missing_ok=True)
    start = time.time()
    done = subprocess.run(command, env={**env, REPORT_ENV: str(report)}, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"{command[1:]} exited {done.returncode} without showing a window: "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    result = {"ms": (data["shown"] - start) * 1000.0, "cpu_ms": data["cpu"] * 1000.0, "rss_mb": data["rss"] / 2**20,
              "modules": data["modules"]}
    if "ready" in data:  # the window: also when what signing in needs had loaded behind it
        result.update({"ready_ms": (data["ready"] - start) * 1000.0, "ready_cpu_ms": data["ready_cpu"] * 1000.0,
                       "ready_rss_mb": data["ready_rss"] / 2**20, "ready_modules": data["ready_modules"]})
    return result


def _measure(runs: int, workdir: Path | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="kezhan-start-", dir=workdir))
    try:
        config = _station(folder)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KEZHAN_HOME": str(folder / "home"),
               "KEZHAN_CONFIG": str(config)}
        # As installed: the untimed first launch leaves the compiled modules behind (pip and the
        # frozen bundle ship them compiled), instead of compiling a hundred of them on every launch.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else root
        gui = [sys.executable, "-m", "app", "gui"]
        bare = [sys.executable, str(_bare_script(folder))]
        report = folder / "shown.json"
        # One untimed launch of each: the first reads the files from disk, the rest find them cached.
        _launch(gui, env, report)
        _launch(bare, env, report)
        app_runs, bare_runs = [], []
        for _ in range(runs):
            app_runs.append(_launch(gui, env, report))
            bare_runs.append(_launch(bare, env, report))
        return {"app": app_runs, "bare": bare_runs}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_cache: dict[tuple, dict] = {}


def _runs(runs: int, workdir: Path | None) -> dict:
    """Both figures come from the same launches: one set of runs serves cold_start and rss_start."""
    key = (runs, str(workdir))
    if key not in _cache:
        _cache.clear()
        _cache[key] = _measure(runs, workdir)
    return _cache[key]


def cold_start(runs: int = RUNS, workdir: Path | None = None) -> Figure:
    data = _runs(runs, workdir)
    app_ms = [r["ms"] for r in data["app"]]
    bare_ms = [r["ms"] for r in data["bare"]]
    figure = Figure(name="cold_start", value=statistics.median(app_ms), unit="ms", baseline=statistics.median(bare_ms),
                    n=len(app_ms), p50=percentile(app_ms, 50), p99=percentile(app_ms, 99),
                    baseline_p50=percentile(bare_ms, 50), baseline_p99=percentile(bare_ms, 99),
                    goal=f"≤ {GOAL_TIME_RATIO:g}× a bare PySide6 window",
                    notes={"app_ms": [round(x, 1) for x in app_ms], "bare_ms": [round(x, 1) for x in bare_ms],
                           # The processes' own CPU time to the shown window: steadier than the wall
                           # clock on a shared machine, and the same story when the machine is quiet.
                           "app_cpu_ms": round(statistics.median(r["cpu_ms"] for r in data["app"]), 1),
                           "bare_cpu_ms": round(statistics.median(r["cpu_ms"] for r in data["bare"]), 1),
                           "app_modules": data["app"][-1]["modules"], "bare_modules": data["bare"][-1]["modules"],
                           # The sign-in screen shows before the services load; these say when they
                           # had (the clerk can type meanwhile; signing in waits for them).
                           "app_ready_ms": round(statistics.median(r["ready_ms"] for r in data["app"]), 1),
                           "app_ready_cpu_ms": round(statistics.median(r["ready_cpu_ms"] for r in data["app"]), 1),
                           "app_ready_modules": data["app"][-1]["ready_modules"]})
    figure.met = figure.ratio <= GOAL_TIME_RATIO
    return figure


def rss_start(runs: int = RUNS, workdir: Path | None = None) -> Figure:
    data = _runs(runs, workdir)
    app_mb = [r["rss_mb"] for r in data["app"]]
    bare_mb = [r["rss_mb"] for r in data["bare"]]
    figure = Figure(name="rss_start", value=statistics.median(app_mb), unit="MB", baseline=statistics.median(bare_mb),
                    n=len(app_mb), goal=f"≤ {GOAL_RSS_RATIO:g}× a bare PySide6 window's RSS",
                    notes={"app_mb": [round(x, 1) for x in app_mb], "bare_mb": [round(x, 1) for x in bare_mb],
                           # Resident once the services have loaded behind the sign-in screen.
                           "app_ready_mb": round(statistics.median(r["ready_rss_mb"] for r in data["app"]), 1)})
    figure.met = figure.ratio <= GOAL_RSS_RATIO
    return figure
