"""The GB18030 encoder: Chinese mode toggles, ￥, punctuation, the substitution policy."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.encoder import MISSING, display_width, encode, encode_text, fit

ON, OFF = b"\x1c&", b"\x1c."


def decode_printer(data: bytes) -> str:
    """What a printer in GB18030 Chinese mode would print (starting outside Chinese mode)."""
    out = []
    chinese = False
    for part in re.split(rb"(\x1c&|\x1c\.)", data):
        if part == ON:
            chinese = True
        elif part == OFF:
            chinese = False
        elif part:
            if chinese:
                out.append(part.decode("gb18030"))
            else:
                assert all(b < 0x80 for b in part), f"high byte outside Chinese mode: {part!r}"
                out.append(part.decode("ascii"))
    return "".join(out)


def test_ascii_needs_no_mode_switch():
    assert encode_text("K1203 08:30 Gate-3") == b"K1203 08:30 Gate-3"


def test_hanzi_are_gb18030_inside_chinese_mode_and_the_string_ends_outside():
    assert (
        encode_text("票价12元")
        == ON + "票价".encode("gb18030") + OFF + b"12" + ON + "元".encode("gb18030") + OFF
    )


def test_adjacent_hanzi_share_one_mode_switch():
    data = encode_text("杭州汽车客运中心")
    assert data.count(ON) == 1 and data.count(OFF) == 1
    assert data == ON + "杭州汽车客运中心".encode("gb18030") + OFF


def test_fullwidth_yen_is_a3a4_and_the_halfwidth_yen_becomes_it():
    assert encode_text("￥45.50") == ON + b"\xa3\xa4" + OFF + b"45.50"
    e = encode("¥45.50")
    assert e.data == ON + b"\xa3\xa4" + OFF + b"45.50"
    assert e.substituted == [("¥", "￥")]


def test_chinese_punctuation_is_printed_not_questioned():
    text = "「杭州」—·…，。：；！？（）《》【】、“”‘’"
    data = encode_text(text)
    assert b"?" not in data
    assert decode_printer(data) == text
    # The exact two-byte codes of the marks the ticket uses.
    assert encode_text("「") == ON + b"\xa1\xb8" + OFF
    assert encode_text("」") == ON + b"\xa1\xb9" + OFF
    assert encode_text("—") == ON + b"\xa1\xaa" + OFF
    assert encode_text("·") == ON + b"\xa1\xa4" + OFF
    assert encode_text("…") == ON + b"\xa1\xad" + OFF
    assert encode_text("→") == ON + b"\xa1\xfa" + OFF


def test_a_question_mark_is_printed_only_where_the_text_has_one():
    assert encode_text("到站？").count(b"?") == 0  # the full-width ？ is its own code
    assert encode_text("a?b") == b"a?b"


def test_characters_outside_two_byte_gb18030_follow_the_policy():
    # CJK extension B: four bytes in GB18030, not in most printer fonts → the geta mark.
    rare = "\U00020000"
    e = encode(rare)
    assert e.data == ON + MISSING.encode("gb18030") + OFF
    assert e.substituted == [(rare, MISSING)]
    # A printer whose font has the four-byte set gets the real code.
    assert encode_text(rare, four_byte=True) == ON + rare.encode("gb18030") + OFF
    assert len(rare.encode("gb18030")) == 4
    # Emoji have no glyph on any ticket printer.
    assert encode("😀").data == ON + b"\xa1\xfe" + OFF
    # Typographic cousins and compatibility forms.
    assert encode("\u00a0").data == b" "
    assert encode("a\u200bb").data == b"ab"
    assert encode("−5").data == b"-5"
    assert encode("ﬁ").data == b"fi"
    assert encode("・").data == ON + "·".encode("gb18030") + OFF


def test_control_characters_cannot_smuggle_printer_commands():
    data = encode_text("张\x1b@三\x1dV\x00\n")
    assert b"\x1b" not in data and b"\x1d" not in data and b"\x00" not in data and b"\n" not in data
    assert decode_printer(data) == "张 @三 V  "


def test_display_width_counts_hanzi_as_two_columns():
    assert display_width("K1203") == 5
    assert display_width("车次 K1203") == 2 * 2 + 1 + 5
    assert display_width("￥4") == 3
    assert fit("杭州汽车客运中心", 7) == "杭州汽"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_encodes_to_what_the_policy_says(text):
    e = encode(text)
    printed = decode_printer(e.data)
    if "?" not in text:
        assert "?" not in printed
    # Every character is printed as itself unless the policy substituted it.
    expected = []
    subs = iter(e.substituted)
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0:
            expected.append(" ")
        elif (0x20 <= code <= 0x7E) or len(ch.encode("gb18030")) == 2:
            expected.append(ch)
        else:
            original, replacement = next(subs)
            assert original == ch
            expected.append(replacement)
    assert printed == "".join(expected)
    assert not e.data.endswith(ON) and (ON not in e.data or e.data.rfind(OFF) > e.data.rfind(ON))
