import pytest

from drivers.scanner import Typed, WedgeDetector


def feed_all(detector, keys):
    """keys: [(char, t)]; returns every result in order, with a final poll long after."""
    out = []
    for char, t in keys:
        out += detector.feed(char, t)
    last = keys[-1][1] if keys else 0.0
    out += detector.poll(last + 10)
    return out


def burst(text, start=0.0, step=0.004, enter=True):
    keys = [(c, start + i * step) for i, c in enumerate(text)]
    if enter:
        keys.append(("\r", start + len(text) * step))
    return keys


def typed(results):
    return "".join(r.text for r in results if isinstance(r, Typed))


def test_a_scanner_burst_is_one_code():
    results = feed_all(WedgeDetector(), burst("K1203-0001-7F3A"))
    assert len(results) == 1 and results[0].ok and results[0].code == "K1203-0001-7F3A"
    assert results[0].source == "wedge"


def test_human_typing_passes_through():
    keys = [(c, i * 0.15) for i, c in enumerate("G12")] + [("\r", 0.6)]
    results = feed_all(WedgeDetector(), keys)
    assert typed(results) == "G12\r"
    assert not [r for r in results if not isinstance(r, Typed)]


def test_typing_then_a_scan_are_told_apart():
    keys = [("a", 0.0), ("b", 0.12)] + burst("TICKET0042", start=0.5)
    results = feed_all(WedgeDetector(), keys)
    assert typed(results) == "ab"
    scans = [r for r in results if not isinstance(r, Typed)]
    assert [s.code for s in scans] == ["TICKET0042"]


def test_burst_cut_short_is_partial_not_a_code():
    detector = WedgeDetector(stall=0.3)
    results = feed_all(detector, burst("TICKET00", enter=False))
    assert len(results) == 1 and not results[0].ok
    assert results[0].reason == "partial" and results[0].raw == "TICKET00"


def test_burst_with_a_pause_inside_is_reported_whole():
    keys = burst("TICKET", enter=False) + burst("0042", start=0.15)  # a 150 ms hiccup mid-code
    results = feed_all(WedgeDetector(), keys)
    assert len(results) == 1 and not results[0].ok
    assert results[0].reason == "mixed_timing" and results[0].raw == "TICKET0042"


def test_a_key_typed_into_a_burst_spoils_it():
    keys = burst("TICKET", enter=False) + [("x", 0.1)] + burst("0042", start=0.2)
    results = feed_all(WedgeDetector(), keys)
    assert [r.reason for r in results] == ["mixed_timing"]


def test_control_characters_are_garbled():
    results = feed_all(WedgeDetector(), burst("TICK\x07ET42"))
    assert results[0].reason == "non_printable"


def test_held_keys_are_released_by_poll():
    detector = WedgeDetector(key_gap=0.035)
    assert detector.feed("a", 0.0) == []
    assert detector.poll(0.02) == []  # could still be a burst
    assert detector.poll(0.05) == [Typed("a")]


@pytest.mark.parametrize("step", [0.001, 0.01, 0.03])
def test_scanner_speeds_within_the_key_gap(step):
    results = feed_all(WedgeDetector(key_gap=0.035), burst("6901234567892", step=step))
    assert [r.code for r in results] == ["6901234567892"]


def test_lone_enter_is_typing():
    assert feed_all(WedgeDetector(), [("\r", 1.0)]) == [Typed("\r")]
