import queue
import time

import pytest

from drivers.idcard import CARD_READ, CARD_REMOVED, READER_BACK, READER_LOST, CardPoller


def next_event(events: queue.Queue, kind: str, timeout: float = 3.0):
    """The next event of ``kind``; any other events before it are returned too."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.05)
        except queue.Empty:
            continue
        seen.append(event)
        if event.kind == kind:
            return event, seen
    pytest.fail(f"no {kind} event within {timeout} s; saw {[e.kind for e in seen]}")


def drain(events: queue.Queue, seconds: float) -> list:
    time.sleep(seconds)
    out = []
    while not events.empty():
        out.append(events.get_nowait())
    return out


@pytest.fixture
def poller(sim):
    callbacks = []
    p = CardPoller(sim.url, baud=115200, interval=0.03, tap_window=0.5, timeout=0.2, probe_timeout=0.1,
                   reconnect_interval=0.1, on_event=callbacks.append)
    p.callbacks = callbacks
    p.start()
    yield p
    assert p.stop(2.0)


def test_card_left_on_the_reader_is_one_tap(sim, poller):
    next_event(poller.events, READER_BACK)
    sim.place("resident")
    event, _ = next_event(poller.events, CARD_READ)
    assert event.card.name == "王小明"
    later = drain(poller.events, 0.6)
    assert [e.kind for e in later] == []  # the card stays: nothing more
    assert [e.kind for e in poller.callbacks].count(CARD_READ) == 1


def test_removed_and_placed_again(sim, poller):
    sim.place("resident")
    next_event(poller.events, CARD_READ)
    time.sleep(0.7)  # longer than the tap window: the window runs from when the card left
    sim.lift()
    next_event(poller.events, CARD_REMOVED)
    sim.place("resident")  # the same card again at once: still the same tap
    assert CARD_READ not in [e.kind for e in drain(poller.events, 0.3)]
    sim.lift()
    next_event(poller.events, CARD_REMOVED)
    time.sleep(0.6)  # past the tap window
    sim.place("resident")
    event, _ = next_event(poller.events, CARD_READ)
    assert event.card.id_number == "110101199003070011"


def test_another_card_is_read_at_once(sim, poller):
    sim.place("resident")
    next_event(poller.events, CARD_READ)
    sim.lift()
    next_event(poller.events, CARD_REMOVED)
    sim.place("foreign2023")
    event, _ = next_event(poller.events, CARD_READ, timeout=1.0)
    assert event.card.card_type == "foreign_permanent_2023"


def test_reader_lost_and_back(sim, poller):
    next_event(poller.events, READER_BACK)
    sim.silent = True
    event, _ = next_event(poller.events, READER_LOST)
    assert event.error.code in ("no_reply", "no_reader")
    assert READER_LOST not in [e.kind for e in drain(poller.events, 0.4)]  # reported once
    sim.silent = False
    next_event(poller.events, READER_BACK)
    sim.place("hmt")
    next_event(poller.events, CARD_READ)


def test_a_corrupt_reply_does_not_lose_the_reader(sim, poller):
    next_event(poller.events, READER_BACK)
    sim.fault("checksum", command="find", count=2)
    sim.place("resident")
    _, seen = next_event(poller.events, CARD_READ)
    assert READER_LOST not in [e.kind for e in seen]


def test_missing_port_is_reported_lost_and_stops_promptly():
    p = CardPoller("/dev/does-not-exist-kezhan", reconnect_interval=5.0)
    p.start()
    event, _ = next_event(p.events, READER_LOST)
    assert event.error.code == "port_unavailable"
    started = time.monotonic()
    assert p.stop(2.0)
    assert time.monotonic() - started < 1.0


def test_stop_is_prompt_while_polling(sim, poller):
    next_event(poller.events, READER_BACK)
    started = time.monotonic()
    assert poller.stop(2.0)
    assert time.monotonic() - started < 0.6
    assert not poller.running


def test_a_broken_sam_is_reported_as_a_lost_reader(sim, poller):
    next_event(poller.events, READER_BACK)
    sim.fault("status", command="find", sw3=0x60)
    event, _ = next_event(poller.events, READER_LOST)
    assert event.error.code == "sw3_60" and "技术员" in event.error.message
    next_event(poller.events, READER_BACK)
