"""The ESC/POS → PNG renderer: what it draws for each command, and that it never crashes."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.printer import RenderError, codes, encode_text, get_profile, render_image, render_png
from drivers.printer.layout import TEST_TICKET_FIELDS, RollWriter, render_ticket, ticket_job
from drivers.printer.qr import qr_matrix
from tests.unit.printer.helpers import SAMPLE_TICKET, find_rows, ink_bands, ink_bbox, ink_rows

INIT = codes.INIT


def render(data: bytes, width: int = 576):
    return render_image(data, width=width)


def same(a, b) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


# --- text ------------------------------------------------------------------------------------


def test_empty_input_is_a_blank_strip_of_paper():
    img = render(b"")
    assert img.width == 576 and img.height >= 8
    assert ink_bbox(img) is None


def test_ascii_font_a_cells_are_12_by_24_and_hanzi_24_by_24():
    a = ink_bbox(render(INIT + b"MMMMMMMMMM\n"))
    h = ink_bbox(render(INIT + encode_text("国国国国国") + b"\n"))
    assert 110 <= a[2] - a[0] <= 120  # ten 12-dot cells
    assert 110 <= h[2] - h[0] <= 120  # five 24-dot cells
    assert h[3] - h[1] <= 24


def test_hanzi_without_chinese_mode_are_code_page_characters():
    gb = "票价".encode("gb18030")
    with_mode = render(INIT + b"\x1c&" + gb + b"\x1c.\n")
    assert same(with_mode, render(INIT + encode_text("票价") + b"\n"))
    assert not same(with_mode, render(INIT + gb + b"\n"))
    # FS . really leaves Chinese mode.
    assert not same(render(INIT + b"\x1c&\x1c." + gb + b"\n"), with_mode)


def test_gs_exclamation_doubles_width_and_height():
    normal = ink_bbox(render(INIT + encode_text("车次K12") + b"\n"))
    double = ink_bbox(render(INIT + codes.size("double") + encode_text("车次K12") + b"\n"))
    assert double[2] - double[0] == pytest.approx(2 * (normal[2] - normal[0]), abs=4)
    assert double[3] - double[1] == pytest.approx(2 * (normal[3] - normal[1]), abs=4)
    tall = ink_bbox(render(INIT + codes.size("double_height") + encode_text("车次K12") + b"\n"))
    assert tall[2] - tall[0] == pytest.approx(normal[2] - normal[0], abs=2)


def test_esc_exclamation_sizes_ascii_only_and_fs_exclamation_hanzi_only():
    wide_ascii = ink_bbox(render(INIT + b"\x1b!\x20" + b"ABCD\n"))
    assert wide_ascii[2] - wide_ascii[0] > 80
    unchanged = render(INIT + b"\x1b!\x20" + encode_text("国国") + b"\n")
    assert same(unchanged, render(INIT + encode_text("国国") + b"\n"))
    wide_hanzi = ink_bbox(render(INIT + b"\x1c!\x04" + encode_text("国国") + b"\n"))
    assert wide_hanzi[2] - wide_hanzi[0] > 80


def test_bold_adds_ink():
    plain = render(INIT + encode_text("售票员 S012") + b"\n")
    bold = render(INIT + codes.bold(True) + encode_text("售票员 S012") + b"\n")
    assert sum(ink_rows(bold)) > sum(ink_rows(plain)) * 1.15


@pytest.mark.parametrize(
    "align, check",
    [
        ("left", lambda left, right: left < 4),
        ("center", lambda left, right: abs((left + right) / 2 - 288) <= 8),
        ("right", lambda left, right: right > 570),
    ],
)
def test_alignment(align, check):
    left, _, right, _ = ink_bbox(render(INIT + codes.align(align) + encode_text("检票口 5") + b"\n"))
    assert check(left, right)


def test_absolute_position_and_dot_feeds_place_text_exactly():
    img = render(INIT + codes.feed_dots(200) + codes.position(240) + b"X" + codes.feed_dots(100))
    left, top, _, bottom = ink_bbox(img)
    assert 240 <= left < 252
    assert 200 <= top and bottom <= 224


def test_line_feeds_use_the_line_spacing():
    bands = ink_bands(render(INIT + b"A\nA\n\nA\n"))
    tops = [t for t, _ in bands]
    assert len(tops) == 3
    assert tops[1] - tops[0] == 30 and tops[2] - tops[1] == 60


def test_long_lines_wrap_at_the_paper_width():
    bands = ink_bands(render(INIT + b"W" * 40 + b"\n", width=384))  # 32 columns on 58 mm
    assert len(bands) == 2


# --- blocks ----------------------------------------------------------------------------------


def test_raster_image_bits_land_on_the_paper():
    # 16×2 dots: first row all black, second row one black dot at x=0.
    data = INIT + codes.raster(16, 2, b"\xff\xff\x80\x00")
    img = render(data)
    px = img.load()
    assert all(px[x, 0] == 0 for x in range(16)) and px[16, 0] != 0
    assert px[0, 1] == 0 and px[1, 1] != 0


def test_raster_double_size_mode():
    data = INIT + b"\x1dv0\x03\x01\x00\x01\x00\xff"  # m=3: double width and height
    assert ink_bbox(render(data)) == (0, 0, 16, 2)


def sample_qr(img, size: int, module: int):
    """Read the module grid of a QR drawn at module size ``module`` in the image."""
    left, top, _, _ = ink_bbox(img)
    px = img.load()
    return [
        [px[left + c * module + module // 2, top + r * module + module // 2] == 0 for c in range(size)]
        for r in range(size)
    ]


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
def test_native_qr_is_the_real_symbol(ec):
    payload = b"KZ1.330102001-T02-004711.3q2Zx9Lk0PfY"
    img = render(INIT + codes.align("center") + codes.qr_native(payload, 5, ec))
    expected = qr_matrix(payload, ec)
    assert sample_qr(img, len(expected), 5) == expected
    left, _, right, _ = ink_bbox(img)
    assert abs((left + right) / 2 - 288) <= 5


def test_native_and_image_qr_tickets_look_the_same():
    native = render(render_ticket(SAMPLE_TICKET, "80mm"))
    image = render(render_ticket(SAMPLE_TICKET, "80mm", qr="image"))
    assert same(native, image)


def test_qr_print_without_data_prints_nothing():
    assert ink_bbox(render(INIT + b"\x1d(k\x03\x001Q0")) is None


def decode_code128(row: list[bool]) -> str:
    """A small Code128 reader over one scan line (independent table from python-barcode)."""
    from barcode.charsets import code128 as table

    patterns = {p: v for v, p in enumerate(table.CODES)}
    start = row.index(True)
    end = len(row) - row[::-1].index(True)
    runs = []
    prev, n = row[start], 0
    for bit in row[start:end]:
        if bit == prev:
            n += 1
        else:
            runs.append(n)
            prev, n = bit, 1
    runs.append(n)
    module = min(runs)
    bits = "".join(("1" if i % 2 == 0 else "0") * (r // module) for i, r in enumerate(runs))
    assert bits.endswith(table.STOP + "11")
    symbols = [patterns[bits[i : i + 11]] for i in range(0, len(bits) - 13, 11)]
    start_code, *data, check = symbols
    assert start_code == 104  # code set B
    assert (start_code + sum(i * v for i, v in enumerate(data, 1))) % 103 == check
    return "".join(chr(v + 32) for v in data)


def test_code128_bars_decode_to_the_data_and_hri_is_printed():
    img = render(INIT + codes.code128("B2026001234", height=50, module=2, hri="below"))
    _, top, _, bottom = ink_bbox(img)
    px = img.load()
    row = [px[x, top + 10] == 0 for x in range(img.width)]
    assert decode_code128(row) == "B2026001234"
    assert bottom - top > 50 + 16  # the human-readable text under the bars


def test_unsupported_barcode_systems_still_show_their_text():
    img = render(INIT + b"\x1dH\x02\x1dk\x02" + b"6901234567892\x00")
    assert ink_bbox(img) is not None


# --- cuts and skipped commands ---------------------------------------------------------------


@pytest.mark.parametrize("cmd, dash", [(codes.cut("full"), 16), (codes.cut("partial"), 6)])
def test_cuts_are_dashed_lines(cmd, dash):
    img = render(INIT + b"A\n" + cmd)
    rows = ink_rows(img)
    cut_row = max(range(len(rows)), key=lambda y: rows[y])
    px = img.load()
    line = [px[x, cut_row] == 0 for x in range(img.width)]
    assert line[:dash] == [True] * dash and line[dash] is False


def test_commands_without_a_mark_are_skipped_by_their_length():
    base = render(INIT + b"AB\n")
    noisy = (
        INIT
        + b"\x1bt\x00"
        + b"\x1bp\x00\x19\xfa"
        + b"\x10\x04\x01"
        + b"\x1d(L\x02\x000A"
        + b"\x1bR\x0f"
        + b"A"
        + b"\x1dI\x01"
        + b"\x1b*\x00\x02\x00\x00\x00"
        + b"B\n"
    )
    assert same(render(noisy), base)


@pytest.mark.parametrize(
    "data, code",
    [
        (b"\x1b\xff", "PRINTER_RENDER_UNKNOWN"),
        (b"\x1b", "PRINTER_RENDER_TRUNCATED"),
        (b"\x1dv0\x00\x10\x00\x10\x00\xff", "PRINTER_RENDER_TRUNCATED"),
        (b"\x1d(k\x05\x001P0", "PRINTER_RENDER_TRUNCATED"),
        (b"\x1dk\x49\x03ABC", "PRINTER_RENDER_BAD"),
        (b"\x1bd\xff" * 10, "PRINTER_RENDER_TOO_LONG"),
    ],
)
def test_malformed_input_raises_render_error(data, code):
    with pytest.raises(RenderError) as err:
        render(data)
    assert err.value.code == code


# --- the test ticket as a picture ------------------------------------------------------------


@pytest.mark.parametrize("profile", ["58mm", "80mm"])
def test_test_ticket_picture_has_every_line(profile):
    prof = get_profile(profile)
    data, lines = ticket_job(TEST_TICKET_FIELDS, profile)
    png = render_png(data, width=prof.width_dots)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width == prof.width_dots
    assert 700 < img.height < 1400
    ink = sum(ink_rows(img.convert("1"))) / (img.width * img.height)
    assert 0.03 < ink < 0.4
    # Each expected line, drawn on its own, appears pixel for pixel in the ticket, in order.
    expected = [
        ("pair", "票号 A0012345", "全票", "normal", True),
        ("pair", "车次 K1203", "座号 12", "normal", False),
        ("pair", "车型 大型高级", "检票口 3", "normal", False),
        ("pair", "票价", "￥45.50", "double_height", True),
        ("pair", "乘意险", "￥2.00", "normal", False),
        ("text", "当日当次有效 请提前到检票口检票", "center", "normal", False),
    ]
    page = img.convert("1")
    last = -1
    for kind, a, b, size, bold in expected:
        w = RollWriter(prof)
        if kind == "pair":
            w.pair(a, b, size=size, bold=bold)
        else:
            w.text(a, align=b, size=size, bold=bold)
        line = render_image(w.finish(cut=False), width=prof.width_dots)
        _, top, _, bottom = ink_bbox(line)
        needle = line.crop((0, top, line.width, bottom))
        y = find_rows(page, needle)
        assert y is not None, f"line {a!r} {b!r} not found in the {profile} test ticket"
        assert y > last
        last = y
    assert "票号 A0012345" in lines[3] and lines[3].endswith("全票")


def test_rendering_is_deterministic():
    data = render_ticket(SAMPLE_TICKET, "58mm")
    assert render_png(data, width=384) == render_png(data, width=384)


# --- fuzzing: any bytes end in a picture or a RenderError ------------------------------------

_PIECES = [
    b"\x1b",
    b"\x1d",
    b"\x1c",
    b"\x10",
    b"\n",
    b"\x1b@",
    b"\x1c&",
    b"\x1c.",
    b"\x1d!",
    b"\x1d(k",
    b"\x1dv0",
    b"\x1dk",
    b"\x1dV",
    b"\x1bJ",
    b"\x1b$",
    b"\x1ba",
    b"\x1b!",
    b"\x1dL",
    b"\x1dW",
    b"\x1b*",
    b"\x1bD",
    b"\x1b&",
    b"\x1d8L",
    b"\x1cq",
    b"\x10\x04",
    b"\x10\x14",
    "票价￥".encode("gb18030"),
    b"\x81\x30",
    b"\x1dk\x49",
    b"{B",
    b"{C",
    b"1Q0",
    b"1P0",
    b"\x00",
    b"\xff",
]


@st.composite
def escpos_like(draw):
    parts = draw(st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=6)), max_size=30))
    return b"".join(parts)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), escpos_like()))
@pytest.mark.timeout(120)
def test_fuzz_any_bytes_give_a_png_or_a_render_error(data):
    try:
        png = render_png(data, width=384)
    except RenderError:
        return
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_four_byte_gb18030_in_chinese_mode_is_one_wide_character():
    yen4 = "¥".encode("gb18030")
    assert len(yen4) == 4
    img = render(INIT + b"\x1c&" + yen4 + b"\x1c.\n")
    left, _, right, _ = ink_bbox(img)
    assert right <= 24  # one 24-dot cell, not four code page characters
    assert not same(img, render(INIT + b"\x1c&\x81\x30\xff\x30\x1c.\n"))  # an invalid sequence differs


def _tokens(data: bytes):
    from drivers.printer.render import Incomplete, Tokenizer

    tok, pos, out = Tokenizer(), 0, []
    while pos < len(data):
        try:
            t = tok.next(data, pos)
        except Incomplete:
            break
        out.append((t.kind, t.start, t.end))
        pos = t.end
    return out


def test_the_tokenizer_waits_for_more_bytes_instead_of_misreading_a_prefix():
    # The simulator tokenizes a stream as it arrives: any prefix must give a prefix of the tokens.
    data = render_ticket(SAMPLE_TICKET, "preprinted") + render_ticket(SAMPLE_TICKET, "80mm")
    full = _tokens(data)
    assert full[-1][2] == len(data)
    for cut in range(0, len(data), 7):
        part = _tokens(data[:cut])
        assert part == full[: len(part)]
        assert not part or part[-1][2] <= cut
