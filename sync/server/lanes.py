"""Where a request's blocking work runs. A process runs few threads at once (app.REQUEST_THREADS):
fewer threads wait less for the interpreter between their statements. What one kind of call holds
must not make another kind wait for a thread, so the work is split into lanes:

- reads (GET, HEAD: the feed's pulls above all) have threads of their own, so a pull never waits
  for a thread a write holds while it waits for its departures' locks or the interpreter;
- on PostgreSQL, a write's short bookkeeping around its route (the checks of its caller, signature
  and nonce before it, its idempotency key claimed before and answered after: a statement or two
  each) has threads of its own, so an upload or a seat request does not queue three times behind
  other writes' route work, once for each check and once for the route; on SQLite these write and
  wait for the one writer, and they keep the default's many threads;
- a terminal's lease top-ups and releases, long and in the background, have threads of their own,
  so a sale never waits for a thread one of them holds;
- everything else (uploads, seat requests, web orders, admin calls) has the default threads."""

from __future__ import annotations

import functools

import anyio

READ_THREADS = 4
CHECK_THREADS = 4
UPKEEP_THREADS = 2
_READS = ("GET", "HEAD")
_UPKEEP_PATHS = frozenset({"/v1/leases", "/v1/leases/release"})


def open_lanes(app, *, postgres: bool) -> None:
    """In the event loop (the app's lifespan): a limiter belongs to the loop it was made in."""
    lanes = {"read": anyio.CapacityLimiter(READ_THREADS), "upkeep": anyio.CapacityLimiter(UPKEEP_THREADS)}
    if postgres:
        lanes["check"] = anyio.CapacityLimiter(CHECK_THREADS)
    app.state.lanes = lanes


def _lane(scope, *, check: bool):
    lanes = getattr(getattr(scope.get("app"), "state", None), "lanes", None) or {}
    if scope.get("method") in _READS:
        return lanes.get("read")
    if check:
        return lanes.get("check")
    if scope.get("path") in _UPKEEP_PATHS:
        return lanes.get("upkeep")
    return None  # the default threads


async def run_blocking(scope, fn, /, *args, **kwargs):
    """A route's ``fn(*args, **kwargs)`` in a worker thread of the request's lane (``scope``: its ASGI scope)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=_lane(scope, check=False))


async def run_check(scope, fn, /, *args, **kwargs):
    """A request's bookkeeping outside its route (caller, signature and nonce checks; its idempotency
    key's claim and answer) in the checks' lane."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=_lane(scope, check=True))
