"""The gate_keystroke bench on a small province: every scan boards, the verdict panel is painted in
the Enter's handler, and what follows the paint is timed on its own."""

from __future__ import annotations


def test_gate_keystroke_times_the_enter_to_the_painted_verdict_and_the_follow_up_apart(qtbot):
    from app.ui.bench import gate_keystroke

    figure = gate_keystroke(n=12, warmup=2, scale={"days": 2, "departures_per_day": 12, "destinations": 40})
    data = figure.to_json()
    assert data["name"] == "gate_keystroke" and data["n"] == 12 and data["unit"] == "ms"
    assert data["p99"] >= data["p50"] > 0 and data["baseline"] > 0
    notes = data["notes"]
    assert notes["departures_checked"] >= 1
    # The follow-up (tone, flush, counters, seat map) ends after the paint it follows.
    assert notes["after_paint_p50"] >= data["p50"] and notes["after_paint_p99"] >= data["p99"]
