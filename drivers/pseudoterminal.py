"""The raw pseudo-terminal the device simulators stand behind (POSIX only: they are development
tools; ``pty`` is imported only when one is opened, so importing a simulator works everywhere)."""

from __future__ import annotations

import os


def open_raw_pty() -> tuple[int, int, str]:
    """A new pseudo-terminal as (master fd, slave fd, the slave's path), in raw mode before any
    client opens it: no echo, no CR/LF translation of binary frames."""
    import pty
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def close_fds(*fds: int | None) -> None:
    """Close each descriptor that is set; one already closed is no error."""
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
