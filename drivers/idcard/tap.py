"""Counting a card left on the reader, or tapped twice in a row, as one tap."""

from __future__ import annotations

import hashlib
import os
import time


class TapFilter:
    """``accept(number)`` is False for a number seen within ``window`` seconds of its last sighting.

    Only a digest under a random per-process key is kept, so a long-running gate process holds no
    ID numbers, nor digests that could be matched against a list of numbers.
    """

    def __init__(self, window: float = 3.0, clock=time.monotonic):
        self.window = window
        self._clock = clock
        self._last: dict[bytes, float] = {}
        self._key = os.urandom(16)

    def _digest(self, number: str) -> bytes:
        return hashlib.blake2b(number.encode("utf-8"), key=self._key, digest_size=16).digest()

    def touch(self, number: str, now: float | None = None) -> None:
        """The card is still there: the window restarts, so it runs from when the card left."""
        self._last[self._digest(number)] = self._clock() if now is None else now

    def accept(self, number: str, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        key = self._digest(number)
        for stale in [k for k, t in self._last.items() if now - t > self.window]:
            del self._last[stale]
        fresh = key not in self._last
        self._last[key] = now
        return fresh
