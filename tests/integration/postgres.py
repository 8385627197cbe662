"""A throwaway PostgreSQL for the server's tests: its own cluster in a temporary folder, on a free
loopback port, with its socket in that folder, stopped and deleted at the end of the session.

Nothing of the machine's own PostgreSQL is used (no cluster of the Debian package is started): only
its programs, ``initdb`` and ``pg_ctl``. PostgreSQL refuses to run as root, so as root (CI) they run
as the ``postgres`` system user the package creates, in a folder that user owns.

Each test gets a database of its own: a schema of its own in the cluster's one database, holding
the server's tables.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

DATABASE = "kezhan_tests"
USER = "kezhan"


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$KEZHAN_PG_BINDIR``, else the ``PATH``, else
    Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest), where the package puts them."""
    candidates = []
    if os.environ.get("KEZHAN_PG_BINDIR"):
        candidates.append(Path(os.environ["KEZHAN_PG_BINDIR"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)

    def version(p: Path) -> tuple:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name)) or (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root: Path | None = None
        self.port = 0
        self._names = itertools.count(1)
        # PostgreSQL refuses to run as root: as root, its programs run as the package's system user.
        self._as_postgres = hasattr(os, "geteuid") and os.geteuid() == 0
        self._running = False
        self._watchdog: subprocess.Popen | None = None

    # ------------------------------------------------------------------ the cluster

    def _command(self, *args: str) -> list[str]:
        cmd = list(args)
        if self._as_postgres:
            runuser = shutil.which("runuser")
            cmd = ([runuser, "-u", "postgres", "--", *cmd] if runuser
                   else ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)])
        return cmd

    def _run(self, *args: str) -> None:
        done = subprocess.run(self._command(*args), capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "log").exists():
                log = (self.root / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()} {log}")

    def start(self) -> ThrowawayPostgres:
        self.root = Path(tempfile.mkdtemp(prefix="kezhan-pg-"))
        atexit.register(self.stop)
        if self._as_postgres:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync",
                  "-E", "UTF8", "--locale=C")
        self._running = True
        for attempt in range(3):
            # A free port can be taken by someone else before the server binds it: then another.
            self.port = _free_port()
            # Durability is worth nothing in a folder deleted at the end: no fsync, no full pages.
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w",
                          "-t", "60", "-o", options, "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self._watch()
        self._make_database()
        return self

    def _watch(self) -> None:
        """A small process that outlives this one only to stop the cluster and delete its folder,
        should this process be killed before it could (SIGKILL, a CI time-out)."""
        stop = self._command(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                             "-w", "stop")
        script = (
            "import os, shutil, subprocess, sys, time\n"
            "pid, root, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3:]\n"
            "while True:\n"
            "    try:\n"
            "        os.kill(pid, 0)\n"
            "    except ProcessLookupError:\n"
            "        break\n"
            "    if not os.path.isdir(root):\n"
            "        sys.exit(0)\n"
            "    time.sleep(1)\n"
            "subprocess.run(stop, capture_output=True, timeout=60)\n"
            "shutil.rmtree(root, ignore_errors=True)\n"
        )
        self._watchdog = subprocess.Popen([sys.executable, "-c", script, str(os.getpid()), str(self.root), *stop],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self) -> None:
        if self._running and self.root is not None:
            self._running = False
            with contextlib.suppress(Exception):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                              "-w", "stop")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(5)  # it sees the folder gone and ends

    # ------------------------------------------------------------------ databases

    def url(self, database: str = DATABASE, schema: str | None = None) -> str:
        url = f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"
        # libpq's options: the schema is the only one the connection sees.
        return url if schema is None else f"{url}?options=-csearch_path%3D{schema}"

    def _admin(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname=database, autocommit=True)

    def _make_database(self) -> None:
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def new_database(self) -> str:
        """The URL of a new, empty server database. It is a schema of its own in one database of
        the cluster: creating the server's tables in a new schema costs a third of what copying
        even a template database does (a checkpoint each)."""
        from sqlalchemy import create_engine

        from sync.server import models

        name = f"t{os.getpid()}_{next(self._names)}"
        with self._admin(DATABASE) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        url = self.url(schema=name)
        engine = create_engine(url)
        try:
            models.metadata.create_all(engine)
        finally:
            engine.dispose()
        return url

    def drop_database(self, url: str) -> None:
        name = url.rsplit("%3D", 1)[1]
        import psycopg

        with self._admin(DATABASE) as conn:
            # A transaction some failed test left open must not hold the session up: its schema
            # is then left for the cluster's own deletion at the end.
            conn.execute("SET lock_timeout = '10s'")
            with contextlib.suppress(psycopg.errors.LockNotAvailable):
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def missing_reason(bindir: Path | None) -> str | None:
    """Why PostgreSQL cannot be started here, or None."""
    if bindir is None:
        return ("PostgreSQL's initdb/pg_ctl not found (install Debian's postgresql package: "
                "bash build/dev.sh setup; or set KEZHAN_PG_BINDIR)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install -e '.[server]')"
    if sys.platform != "win32" and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres system user to run PostgreSQL as"
    return None
