"""The gate's tones: every sound key the gate service gives a verdict has a tone of its own among the
WAVs shipped in resources/sounds (made by app.ui.gate_sounds, and current), and playing one on a
machine with no sound device (this offscreen run) neither fails nor blocks."""

from __future__ import annotations

import wave

import pytest

from app.domain import gate as gate_rules
from app.ui import gate_sounds

pytestmark = pytest.mark.gui


def test_every_verdict_and_concession_has_its_tone_and_the_files_are_current():
    keys = {sound for _tone, sound, _boards in gate_rules.VERDICTS.values()}
    keys |= {gate_rules.board_sound(t) for t in ("full", "child", "free_child", "student", "military", "senior",
                                                 "disabled")}
    for key in keys:
        assert gate_sounds.sound_key(key) == key, f"no tone of its own for {key}"
        path = gate_sounds.folder() / f"gate-{key}.wav"
        assert path.read_bytes() == gate_sounds.wav_bytes(gate_sounds.PATTERNS[key]), f"{path} is stale"
        with wave.open(str(path)) as w:
            assert w.getnframes() > 0 and w.getframerate() == gate_sounds.RATE
    # Refusals sound apart from each other, and from boarding.
    refusals = ["already", "refused", "changed", "not_today", "forged", "wrong_bus"]
    assert len({gate_sounds.PATTERNS[k] for k in refusals + ["board"]}) == len(refusals) + 1


def test_playing_without_a_sound_device_does_not_fail(qapp):
    player = gate_sounds.Player()
    for key in ("board_student", "already", "some_new_key"):
        player.play(key)
    assert player.played == ["board_student", "already", "refuse"]
