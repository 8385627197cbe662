"""Where a request's blocking work runs. Reads (GET: the feed's pulls above all) have threads of their
own, so a pull never waits for a thread that a write holds while it waits for its departures' locks
or the interpreter; everything else shares the default threads (app.REQUEST_THREADS)."""

from __future__ import annotations

import functools

import anyio

READ_THREADS = 4
_READS = ("GET", "HEAD")


def open_read_lane(app) -> None:
    """In the event loop (the app's lifespan): a limiter belongs to the loop it was made in."""
    app.state.read_lane = anyio.CapacityLimiter(READ_THREADS)


async def run_blocking(scope, fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a worker thread of the request's lane (``scope``: its ASGI scope)."""
    lane = None
    if scope.get("method") in _READS:
        lane = getattr(getattr(scope.get("app"), "state", None), "read_lane", None)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=lane)
