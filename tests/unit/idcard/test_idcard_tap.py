from drivers.idcard import TapFilter


def test_same_card_within_the_window_is_one_tap():
    taps = TapFilter(window=3.0)
    assert taps.accept("110101199003070011", now=100.0)
    assert not taps.accept("110101199003070011", now=101.0)
    # A card left there keeps being one tap: the window runs from the last sighting.
    assert not taps.accept("110101199003070011", now=103.5)
    assert taps.accept("110101199003070011", now=107.0)


def test_another_card_is_another_tap():
    taps = TapFilter(window=3.0)
    assert taps.accept("110101199003070011", now=1.0)
    assert taps.accept("110101199512310028", now=1.5)


def test_no_number_is_kept_in_clear():
    taps = TapFilter()
    taps.accept("110101199003070011", now=1.0)
    assert "110101199003070011" not in repr(taps.__dict__)


def test_digests_are_keyed_per_filter():
    a, b = TapFilter(), TapFilter()
    a.accept("110101199003070011", now=1.0)
    b.accept("110101199003070011", now=1.0)
    assert set(a._last) != set(b._last)


def test_touch_restarts_the_window():
    taps = TapFilter(window=3.0)
    assert taps.accept("110101199003070011", now=0.0)
    taps.touch("110101199003070011", now=10.0)  # still on the reader at 10 s
    assert not taps.accept("110101199003070011", now=12.0)
