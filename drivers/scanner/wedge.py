"""Keyboard-wedge scanners: telling a scanner's key burst from a person typing, by timing alone.

A wedge scanner "types" a whole code in a few milliseconds per key and presses Enter; a person
needs 50 ms or more per key. The UI's key event filter feeds every key (character and event
timestamp in seconds) to :class:`WedgeDetector` and acts on what comes back:

* :class:`~drivers.scanner.scan.Scan` (ok) — a complete code; swallow the keys, handle the code;
* :class:`~drivers.scanner.scan.Scan` (not ok) — a burst that was cut short, interrupted or
  carries control characters: tell the checker to scan again, never use the fragment;
* :class:`Typed` — keys a person typed, to be delivered to the focused widget as they were.

Keys are held back only while they could still be the start of a burst, i.e. for ``key_gap``.
Call :meth:`WedgeDetector.poll` from a short timer so held keys and cut-off bursts are resolved
even when no further key arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scan import Scan, bad, good, printable

SOURCE = "wedge"


@dataclass(frozen=True)
class Typed:
    text: str  # "\r" stands for the Enter key


class WedgeDetector:
    """``key_gap``: longest pause between two keys of one burst. ``stall``: a pause after which an
    unfinished burst is given up as ``partial``. ``min_length``: the shortest code (shorter fast
    runs cannot be told from a quick pair of keystrokes and are passed through as typing).
    """

    def __init__(self, *, key_gap: float = 0.035, stall: float = 0.3, min_length: int = 6,
                 max_length: int = 512, end_keys: str = "\r\n"):
        self.key_gap = key_gap
        self.stall = stall
        self.min_length = min_length
        self.max_length = max_length
        self.end_keys = end_keys
        self._run: list[str] = []  # the current run of keys, each within key_gap of the one before
        self._last = 0.0
        self._broken = ""  # keys of a burst that paused: everything up to Enter belongs to a failed scan

    def feed(self, char: str, t: float) -> list[Scan | Typed]:
        out = self._resolve(t)
        if char in self.end_keys:
            out.extend(self._enter())
            return out
        self._run.append(char)
        self._last = t
        return out

    def poll(self, now: float) -> list[Scan | Typed]:
        """Resolve what timing alone has decided by ``now``."""
        return self._resolve(now)

    def _resolve(self, now: float) -> list[Scan | Typed]:
        if not (self._run or self._broken):
            return []
        pause = now - self._last
        if pause <= self.key_gap:
            return []
        burst = len(self._run) >= self.min_length
        if self._broken or burst:
            if pause < self.stall:
                # A scanner that hesitated mid-code (or a key typed into a burst): keep collecting
                # to Enter so the whole failed scan is reported once, not as fragments.
                self._broken += "".join(self._run)
                self._run = []
                return []
            raw = self._broken + "".join(self._run)
            self._reset()
            return [bad("partial", raw, SOURCE)]
        typed = "".join(self._run)
        self._run = []
        return [Typed(typed)]

    def _enter(self) -> list[Scan | Typed]:
        run = "".join(self._run)
        if self._broken:
            raw = self._broken + run
            self._reset()
            return [bad("mixed_timing", raw, SOURCE)]
        self._reset()
        if len(run) >= self.min_length:
            if len(run) > self.max_length:
                return [bad("too_long", run, SOURCE)]
            if not printable(run):
                return [bad("non_printable", run, SOURCE)]
            return [good(run, SOURCE)]
        return [Typed(run + "\r")]

    def _reset(self) -> None:
        self._run = []
        self._broken = ""
