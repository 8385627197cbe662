"""PostgreSQL writers side by side (ServerContext.tx, docs/scale.md § Writers side by side): a write
transaction that names its departures waits only for writers of the same departures, one that names
none waits for every writer, and the feed's ids still become visible in id order however the
transactions interleave."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from sync.server import feed, models
from sync.server.context import ServerContext


@pytest.fixture
def ctx(postgres):
    url = postgres.new_database()
    context = ServerContext(url)
    try:
        yield context
    finally:
        context.close()
        postgres.drop_database(url)


def _hold(ctx: ServerContext, departures, entered: threading.Event, release: threading.Event, publish=None):
    with ctx.tx(departures=departures) as conn:
        if publish:
            feed.publish(conn, "seat", publish, {"state": "sold"}, at=ctx.now())
        entered.set()
        release.wait(10)


def _start(ctx, departures, publish=None):
    entered, release = threading.Event(), threading.Event()
    th = threading.Thread(target=_hold, args=(ctx, departures, entered, release, publish), daemon=True)
    th.start()
    return th, entered, release


def test_writers_of_other_departures_go_ahead_writers_of_the_same_one_wait(ctx):
    first, first_in, first_go = _start(ctx, ["D1", "D2"])
    assert first_in.wait(5)
    other, other_in, other_go = _start(ctx, ["D3"])
    assert other_in.wait(5), "a writer of another departure waited for D1/D2's writer"
    other_go.set()
    other.join(5)
    same, same_in, same_go = _start(ctx, ["D2"])
    assert not same_in.wait(0.5), "a second writer of D2 ran while the first held it"
    first_go.set()
    assert same_in.wait(5)
    same_go.set()
    first.join(5)
    same.join(5)


def test_a_writer_naming_no_departures_waits_for_all_and_all_wait_for_it(ctx):
    holder, holder_in, holder_go = _start(ctx, ["D1"])
    assert holder_in.wait(5)
    whole, whole_in, whole_go = _start(ctx, None)
    assert not whole_in.wait(0.5), "a whole-database writer ran beside a departure's writer"
    holder_go.set()
    assert whole_in.wait(5)
    later, later_in, later_go = _start(ctx, ["D9"])
    assert not later_in.wait(0.5), "a departure's writer ran beside a whole-database writer"
    whole_go.set()
    assert later_in.wait(5)
    later_go.set()
    for th in (holder, whole, later):
        th.join(5)


def test_feed_ids_become_visible_in_order_when_an_earlier_writer_commits_last(ctx):
    """The slow writer publishes first but commits last: its row must not get an id below one a
    reader has already passed."""
    slow, slow_in, slow_go = _start(ctx, ["D1"], publish="D1/1")
    assert slow_in.wait(5)
    with ctx.tx(departures=["D2"]) as conn:
        feed.publish(conn, "seat", "D2/1", {"state": "sold"}, at=ctx.now())
    with ctx.reader() as conn:
        seen = conn.execute(select(models.changes.c.id, models.changes.c.key)).all()
    assert [k for _, k in seen] == ["D2/1"]
    cursor = max(i for i, _ in seen)
    slow_go.set()
    slow.join(5)
    with ctx.reader() as conn:
        after = conn.execute(select(models.changes.c.id, models.changes.c.key)
                             .where(models.changes.c.id > cursor)).all()
    assert [k for _, k in after] == ["D1/1"], "the slow writer's row landed behind the reader's cursor"


def test_a_failed_transaction_leaves_no_held_back_rows_for_the_next_one(ctx):
    with pytest.raises(RuntimeError), ctx.tx(departures=["D1"]) as conn:
        feed.publish(conn, "seat", "D1/5", {"state": "sold"}, at=ctx.now())
        raise RuntimeError("refused")
    with ctx.tx(departures=["D1"]) as conn:
        feed.publish(conn, "seat", "D1/6", {"state": "sold"}, at=ctx.now())
    with ctx.reader() as conn:
        keys = conn.execute(select(models.changes.c.key)).scalars().all()
    assert keys == ["D1/6"]


def test_many_writers_at_once_leave_a_gapless_feed_in_commit_order(ctx):
    """Forty writers over four departures: every row lands once, and ids read in order never go
    back in time (a reader polling throughout never sees an id appear below its cursor)."""
    stop = threading.Event()
    late: list[tuple[int, int]] = []

    def poll():
        cursor = 0
        while not stop.is_set():
            with ctx.reader() as conn:
                ids = conn.execute(select(models.changes.c.id).where(models.changes.c.id > cursor)
                                   .order_by(models.changes.c.id)).scalars().all()
                below = conn.execute(select(models.changes.c.id).where(models.changes.c.id <= cursor)).scalars().all()
            late.extend((i, cursor) for i in below if i not in passed)
            passed.update(ids)
            if ids:
                cursor = ids[-1]
            time.sleep(0.002)

    passed: set[int] = set()
    reader = threading.Thread(target=poll, daemon=True)
    reader.start()

    def write(n):
        with ctx.tx(departures=[f"D{n % 4}"]) as conn:
            feed.publish(conn, "seat", f"D{n % 4}/{n}", {"state": "sold"}, at=ctx.now())
            time.sleep(0.001 * (n % 5))

    writers = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for th in writers:
        th.start()
    for th in writers:
        th.join(10)
    time.sleep(0.05)
    stop.set()
    reader.join(5)
    with ctx.reader() as conn:
        keys = conn.execute(select(models.changes.c.key)).scalars().all()
    assert sorted(keys) == sorted(f"D{n % 4}/{n}" for n in range(40))
    assert late == [], f"rows became visible below a reader's cursor: {late[:5]}"
