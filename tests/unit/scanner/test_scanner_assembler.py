import pytest

from drivers.scanner import LineAssembler


def codes(scans):
    return [(s.code, s.reason) for s in scans]


@pytest.mark.parametrize("suffix", [b"\r", b"\n", b"\r\n"])
def test_each_line_ending_gives_one_code(suffix):
    a = LineAssembler("line")
    out = a.feed(b"K1203-0001" + suffix + b"K1203-0002" + suffix, now=0.0)
    assert codes(out) == [("K1203-0001", ""), ("K1203-0002", "")]
    assert a.expire(10.0) == []


def test_crlf_split_across_reads_is_one_terminator():
    a = LineAssembler("line")
    assert codes(a.feed(b"ABC123\r", 0.0)) == [("ABC123", "")]
    assert a.feed(b"\n", 0.01) == []


def test_fragments_are_joined():
    a = LineAssembler("line")
    assert a.feed(b"ABC", 0.0) == [] and a.feed(b"123", 0.02) == []
    assert codes(a.feed(b"\r\n", 0.04)) == [("ABC123", "")]


def test_line_mode_without_terminator_is_partial():
    a = LineAssembler("line", partial_after=0.5)
    a.feed(b"ABC12", 0.0)
    assert a.expire(0.3) == []
    out = a.expire(0.6)
    assert codes(out) == [("", "partial")] and out[0].raw == "ABC12"


def test_gap_mode_ends_a_code_on_quiet():
    a = LineAssembler("gap", gap=0.08)
    a.feed(b"ABC", 0.0)
    a.feed(b"123", 0.03)
    assert a.expire(0.07) == []
    assert codes(a.expire(0.12)) == [("ABC123", "")]
    # the next code after a pause starts fresh
    a.feed(b"XYZ", 1.0)
    assert codes(a.feed(b"9", 1.2)) == [("XYZ", "")]


@pytest.mark.parametrize("data,reason", [(b"AB\x00CD\r", "non_printable"), (b"AB\xffCD\r", "undecodable"),
                                         (b"AB\x1bCD\n", "non_printable")])
def test_garbled_codes_are_reported(data, reason):
    assert codes(LineAssembler().feed(data, 0.0)) == [("", reason)]


def test_too_long_is_reported_not_truncated():
    a = LineAssembler(max_length=16)
    assert codes(a.feed(b"A" * 40 + b"\r", 0.0)) == [("", "too_long")]


def test_chinese_code_in_utf8():
    assert codes(LineAssembler().feed("杭州-K1203\r\n".encode(), 0.0)) == [("杭州-K1203", "")]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from drivers.scanner import PROBLEMS  # noqa: E402


@given(st.lists(st.tuples(st.binary(max_size=40), st.floats(0, 1)), max_size=10), st.sampled_from(["line", "gap"]))
def test_fuzz_any_bytes_give_codes_or_reported_problems(chunks, mode):
    a = LineAssembler(mode, max_length=64)
    now, scans = 0.0, []
    for data, pause in chunks:
        now += pause
        scans += a.feed(data, now)
    scans += a.expire(now + 10)
    for scan in scans:
        if scan.ok:
            assert scan.code.isprintable() and "\r" not in scan.code and "\n" not in scan.code
        else:
            assert scan.reason in PROBLEMS and scan.code == ""
