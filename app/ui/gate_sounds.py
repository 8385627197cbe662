"""The gate's sounds: one per verdict and one per concession type, so a checker looking at the
passenger, not the screen, still hears a refusal or that a student card must be shown.

The tones are WAV files in ``resources/sounds`` made by this module (``python -m app.ui.gate_sounds
--write``), not recordings: each is a few beeps whose count and pitch tell them apart. Playing
never fails the check: no sound card, no ``winsound`` (anything but Windows) or an offscreen test
run falls back to the system beep, and any error is logged and dropped.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import struct
import sys
import wave
from pathlib import Path

log = logging.getLogger("kezhan.ui.sounds")

RATE = 8000

# key -> beeps as (frequency Hz, milliseconds, silence after ms)
PATTERNS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "board": ((1320, 120, 0),),
    "board_child": ((1320, 90, 60), (1320, 90, 0)),
    "board_student": ((990, 90, 40), (1180, 90, 40), (1480, 120, 0)),
    "board_military": ((880, 220, 40), (1320, 220, 0)),
    "board_senior": ((990, 150, 60), (990, 150, 0)),
    "board_disabled": ((1180, 150, 60), (880, 150, 0)),
    "warn": ((740, 150, 80), (740, 150, 0)),
    # Each refusal its own: the checker hears which without turning to the screen.
    "refuse": ((330, 550, 0),),
    "refused": ((330, 550, 0),),
    "already": ((392, 110, 50), (392, 110, 50), (392, 110, 0)),
    "changed": ((440, 200, 60), (330, 300, 0)),
    "wrong_bus": ((523, 150, 50), (392, 150, 50), (523, 150, 0)),
    "not_today": ((294, 220, 80), (294, 220, 0)),
    "full": ((587, 90, 40), (587, 90, 40), (587, 90, 40), (587, 90, 0)),
    "forged": ((220, 800, 0),),
    "unreadable": ((660, 80, 60), (660, 80, 0)),
    "mismatch": ((349, 250, 60), (262, 350, 0)),
    "no_ticket": ((392, 300, 60), (330, 300, 0)),
}

FALLBACK = {"board": "board", "warn": "warn", "refuse": "refuse"}


def folder() -> Path:
    from app import paths

    return paths.resources_dir() / "sounds"


def wav_bytes(pattern) -> bytes:
    """8 kHz mono 16-bit PCM; each beep fades in and out over 5 ms so it does not click."""
    frames = bytearray()
    ramp = RATE * 5 // 1000
    for freq, ms, gap in pattern:
        n = RATE * ms // 1000
        for i in range(n):
            fade = min(1.0, i / ramp, (n - i) / ramp)
            frames += struct.pack("<h", int(12000 * fade * math.sin(2 * math.pi * freq * i / RATE)))
        frames += b"\0\0" * (RATE * gap // 1000)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


def write_all(target: Path | None = None) -> list[Path]:
    target = target or folder()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for key, pattern in PATTERNS.items():
        path = target / f"gate-{key}.wav"
        path.write_bytes(wav_bytes(pattern))
        written.append(path)
    return written


def sound_key(key: str) -> str:
    """The tone for a verdict's sound key: a concession the checker must see a card for has its own;
    a key this build has no tone for sounds as what its verdict is (board / warn / refuse)."""
    if key in PATTERNS:
        return key
    for prefix, known in FALLBACK.items():
        if key.startswith(prefix):
            return known
    return "refuse"


class Player:
    """Plays a tone without waiting for it. ``played`` keeps the keys asked for, newest last (what
    a test can check without a sound card)."""

    def __init__(self) -> None:
        self.played: list[str] = []
        self._winsound = None
        if sys.platform == "win32":
            try:
                import winsound

                self._winsound = winsound
            except ImportError:
                self._winsound = None

    def play(self, key: str) -> None:
        key = sound_key(key)
        self.played.append(key)
        del self.played[:-20]
        try:
            path = folder() / f"gate-{key}.wav"
            if self._winsound is not None and path.exists():
                # Asynchronous: the verdict is on screen before the tone ends, and the next scan
                # cuts a tone still playing short rather than waiting for it.
                self._winsound.PlaySound(str(path), self._winsound.SND_FILENAME | self._winsound.SND_ASYNC
                                         | self._winsound.SND_NODEFAULT)
                return
            from PySide6.QtWidgets import QApplication

            QApplication.beep()
        except Exception as exc:  # a sound is never worth a failed check
            log.info("sound %s not played: %s", key, exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.gate_sounds", description="the gate's tones")
    parser.add_argument("--write", action="store_true", help="write the WAV files into resources/sounds")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_all():
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
