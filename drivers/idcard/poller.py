"""A polling loop for a worker thread: reads cards as they are tapped and reports what happens.

Events (``PollerEvent.kind``):

``card_read``     a card was read (``event.card``); a card left on the reader, or lifted and put
                  back within ``tap_window`` seconds, is reported once
``card_removed``  the card read last has left the reader
``reader_lost``   the port vanished or the reader stopped answering (``event.error``); the loop
                  keeps trying to reopen it
``reader_back``   the reader answers (the first time, or again after a loss)

Events go to ``on_event`` (called in the worker thread: a Qt adapter re-emits them as signals)
and/or to a :class:`queue.Queue`. ``stop()`` returns within about one command timeout.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from .card import CardData
from .errors import PortError, ReaderError, ReaderTimeout, StatusError
from .reader import Reader
from .status import SAM_BROKEN
from .tap import TapFilter

log = logging.getLogger("drivers.idcard.poller")

CARD_READ = "card_read"
CARD_REMOVED = "card_removed"
READER_LOST = "reader_lost"
READER_BACK = "reader_back"


@dataclass
class PollerEvent:
    kind: str
    card: CardData | None = None
    error: ReaderError | None = None
    at: float = field(default_factory=time.monotonic)


class CardPoller:
    def __init__(self, port: str, *, baud: int | str = "auto", interval: float = 0.2, tap_window: float = 3.0,
                 fingerprint: bool = False, timeout: float = 0.5, probe_timeout: float = 0.3,
                 reconnect_interval: float = 1.0, on_event=None, events: queue.Queue | None = None):
        self.port = port
        self.baud = baud
        self.interval = interval
        self.fingerprint = fingerprint
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.reconnect_interval = reconnect_interval
        self.on_event = on_event
        self.events = events if events is not None else queue.Queue()
        self.taps = TapFilter(tap_window)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: Reader | None = None
        self._online: bool | None = None
        self._present: CardData | None = None

    # -- control -------------------------------------------------------------------------------
    def start(self) -> CardPoller:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="idcard-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the loop to end and wait for it; True when it has."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> None:
        """The loop itself, for callers that bring their own thread (a QThread's ``run``)."""
        try:
            while not self._stop.is_set():
                if self._reader is None and not self._connect():
                    self._stop.wait(self.reconnect_interval)
                    continue
                try:
                    self._step()
                except (PortError, ReaderTimeout) as exc:
                    self._lose(exc)
                    continue
                except StatusError as exc:
                    if exc.sw3 in SAM_BROKEN:
                        self._lose(exc)
                        continue
                    log.info("card read attempt failed: %s", exc.en)
                except ReaderError as exc:
                    # A moving card, a corrupt reply: the next pass asks again.
                    log.info("card read attempt failed: %s", exc.en)
                self._stop.wait(self.interval)
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _emit(self, kind: str, **kw) -> None:
        event = PollerEvent(kind, **kw)
        self.events.put(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken handler must not kill the reader loop
                log.exception("ID card event handler failed")

    def _connect(self) -> bool:
        reader = Reader(self.port, self.baud, timeout=self.timeout, probe_timeout=self.probe_timeout)
        try:
            reader.open()
            reader.sam_status()
        except ReaderError as exc:
            reader.close()
            if self._online is not False:
                self._online = False
                log.warning("ID card reader unavailable on %s: %s", self.port, exc.en)
                self._emit(READER_LOST, error=exc)
            return False
        self._reader = reader
        self._online = True
        log.info("ID card reader ready on %s at %s baud", self.port, reader.baudrate)
        self._emit(READER_BACK)
        return True

    def _lose(self, exc: ReaderError) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._present is not None:
            self._present = None
        self._online = False
        log.warning("ID card reader lost on %s: %s", self.port, exc.en)
        self._emit(READER_LOST, error=exc)

    def _step(self) -> None:
        reader = self._reader
        if self._present is not None:
            try:
                still_there = reader.card_present()
            except StatusError:
                still_there = False
            if still_there:
                self.taps.touch(self._present.id_number)
                return
            self._present = None
            self._emit(CARD_REMOVED)
        card = reader.read_once(fingerprint=self.fingerprint)
        if card is None:
            return
        self._present = card
        if self.taps.accept(card.id_number):
            self._emit(CARD_READ, card=card)
        else:
            log.debug("same card again within the tap window: not counted")
