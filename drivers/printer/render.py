"""ESC/POS bytes → a picture of the paper (print preview, simulator, tests that look at tickets).

The model is a 203 dpi line printer: text collects in a line buffer and is printed at LF,
ESC J/d, a block (QR, raster, barcode) or a cut; Font A cells are 12×24 dots (hanzi 24×24),
Font B 9×17; the default line spacing is 30 dots. Cuts are drawn as dashed lines (full cut long
dashes, partial cut short dashes).

Commands the preview has no use for (code pages, drawer kick, beeper, NV images, page mode,
real-time status requests …) are skipped by their documented length. A command we do not know
the length of, or one whose parameters run past the end of the data, raises
:class:`RenderError`: the preview never guesses. Undefined single control bytes are ignored, as
printers do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from drivers.printer.errors import RenderError
from drivers.printer.qr import qr_matrix

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

DEFAULT_WIDTH = 576
LINE_SPACING = 30
MAX_HEIGHT = 60_000  # dots (7.5 m of paper): beyond this the input is not a receipt
MAX_WIDTH = 4096


class Incomplete(Exception):
    """More bytes are needed to finish the command at ``pos`` (streaming callers wait)."""

    def __init__(self, pos: int):
        super().__init__(pos)
        self.pos = pos


# --- tokenizer -------------------------------------------------------------------------------

# Fixed parameter counts after ESC x / GS x / FS x (commands not listed here are handled below).
_ESC_FIXED = {
    ord("@"): 0,
    ord("!"): 1,
    ord("E"): 1,
    ord("G"): 1,
    ord("-"): 1,
    ord("a"): 1,
    ord("d"): 1,
    ord("J"): 1,
    ord("K"): 1,
    ord("e"): 1,
    ord("j"): 1,
    ord("3"): 1,
    ord("2"): 0,
    ord("M"): 1,
    ord("R"): 1,
    ord("t"): 1,
    ord("V"): 1,
    ord("{"): 1,
    ord(" "): 1,
    ord("%"): 1,
    ord("?"): 1,
    ord("U"): 1,
    ord("p"): 3,
    ord("$"): 2,
    ord("\\"): 2,
    ord("i"): 0,
    ord("m"): 0,
    ord("L"): 0,
    ord("S"): 0,
    ord("T"): 1,
    ord("W"): 8,
    ord("r"): 1,
    ord("u"): 1,
    ord("v"): 0,
    ord("="): 1,
    ord("B"): 2,
    ord("C"): 1,
    ord("c"): 2,
    ord("<"): 0,
}
_GS_FIXED = {
    ord("!"): 1,
    ord("B"): 1,
    ord("H"): 1,
    ord("I"): 1,
    ord("L"): 2,
    ord("P"): 2,
    ord("W"): 2,
    ord("a"): 1,
    ord("b"): 1,
    ord("f"): 1,
    ord("h"): 1,
    ord("w"): 1,
    ord("r"): 1,
    ord("$"): 2,
    ord("\\"): 2,
    ord("^"): 3,
    ord(":"): 0,
    ord("T"): 1,
    ord("/"): 1,
    ord("j"): 1,
    ord("E"): 1,
    ord("x"): 1,
}
_FS_FIXED = {
    ord("&"): 0,
    ord("."): 0,
    ord("!"): 1,
    ord("-"): 1,
    ord("C"): 1,
    ord("S"): 2,
    ord("W"): 1,
    ord("p"): 2,
    ord("r"): 1,
}


@dataclass
class Token:
    kind: str  # "char", "ctl", "esc", "gs", "fs", "dle"
    start: int
    end: int
    code: int = 0  # the command byte after ESC/GS/FS/DLE, or the control byte
    params: bytes = b""
    char: str = ""
    wide: bool = False


class Tokenizer:
    """Splits an ESC/POS stream into commands and characters; tracks Chinese mode."""

    def __init__(self, chinese: bool = False):
        self.chinese = chinese

    def next(self, data: bytes, pos: int) -> Token:
        """The token at ``pos``; raises :class:`Incomplete` or :class:`RenderError`."""
        n = len(data)

        def need(k: int) -> None:
            if pos + k > n:
                raise Incomplete(pos)

        b = data[pos]
        if b == ESC or b == GS or b == FS:
            need(2)
            c = data[pos + 1]
            table = _ESC_FIXED if b == ESC else _GS_FIXED if b == GS else _FS_FIXED
            kind = "esc" if b == ESC else "gs" if b == GS else "fs"
            if c in table:
                k = table[c]
                need(2 + k)
                tok = Token(kind, pos, pos + 2 + k, c, bytes(data[pos + 2 : pos + 2 + k]))
                if kind == "esc" and c == ord("@"):
                    self.chinese = False
                elif kind == "fs" and c == ord("&"):
                    self.chinese = True
                elif kind == "fs" and c == ord("."):
                    self.chinese = False
                return tok
            length = self._variable(data, pos, b, c, need)
            if length is None:
                raise RenderError(
                    f"无法识别的打印指令（第 {pos} 字节）",
                    en=f"unknown command {kind.upper()} 0x{c:02x} at byte {pos}",
                    code="PRINTER_RENDER_UNKNOWN",
                )
            return Token(kind, pos, pos + length, c, bytes(data[pos + 2 : pos + length]))
        if b == DLE:
            need(3)
            c, m = data[pos + 1], data[pos + 2]
            if c == 0x04:  # DLE EOT n (n 7 and 8 take one more byte)
                k = 2 if m in (7, 8) else 1
            elif c == 0x05:  # DLE ENQ n
                k = 1
            elif c == 0x14:  # DLE DC4 fn ...
                k = {1: 3, 2: 3, 7: 2, 8: 8}.get(m)
                if k is None:
                    raise RenderError(
                        f"无法识别的打印指令（第 {pos} 字节）",
                        en=f"unknown DLE DC4 function {m} at byte {pos}",
                        code="PRINTER_RENDER_UNKNOWN",
                    )
            else:
                # A lone DLE is an undefined control byte: printers ignore it.
                return Token("ctl", pos, pos + 1, b)
            need(2 + k)
            return Token("dle", pos, pos + 2 + k, c, bytes(data[pos + 2 : pos + 2 + k]))
        if b < 0x20 or b == 0x7F:
            return Token("ctl", pos, pos + 1, b)
        if b < 0x80:
            return Token("char", pos, pos + 1, char=chr(b))
        if not self.chinese:
            return Token("char", pos, pos + 1, char=bytes((b,)).decode("cp437"))
        if not 0x81 <= b <= 0xFE:
            return Token("char", pos, pos + 1, char="\ufffd")
        need(2)
        b2 = data[pos + 1]
        if 0x30 <= b2 <= 0x39:
            need(4)
            seq = bytes(data[pos : pos + 4])
            try:
                ch = seq.decode("gb18030")
            except UnicodeDecodeError:
                return Token("char", pos, pos + 1, char="\ufffd", wide=True)
            return Token("char", pos, pos + 4, char=ch, wide=True)
        if 0x40 <= b2 <= 0xFE and b2 != 0x7F:
            try:
                ch = bytes(data[pos : pos + 2]).decode("gb18030")
            except UnicodeDecodeError:
                ch = "\ufffd"
            return Token("char", pos, pos + 2, char=ch, wide=True)
        # A lead byte without a valid trail: the printer shows a blank/garbage cell.
        return Token("char", pos, pos + 1, char="\ufffd", wide=True)

    @staticmethod
    def _variable(data: bytes, pos: int, b: int, c: int, need) -> int | None:
        def u16(at: int) -> int:
            need(at + 2 - pos)
            return data[at] | data[at + 1] << 8

        if c == ord("(") and b in (ESC, GS, FS):  # X ( fn pL pH ...
            need(5)
            k = u16(pos + 3)
            need(5 + k)
            return 5 + k
        if b == ESC:
            if c == ord("*"):  # ESC * m nL nH d
                need(5)
                m = data[pos + 2]
                k = u16(pos + 3) * (3 if m in (32, 33) else 1)
                need(5 + k)
                return 5 + k
            if c == ord("Z"):  # ESC Z m n k dL dH d: the 2D-code command of many Chinese printers
                need(7)
                k = u16(pos + 5)
                need(7 + k)
                return 7 + k
            if c == ord("D"):  # tab positions, NUL terminated (at most 32)
                for i in range(pos + 2, min(len(data), pos + 2 + 33)):
                    if data[i] == 0:
                        return i + 1 - pos
                if len(data) < pos + 2 + 33:
                    raise Incomplete(pos)
                raise RenderError(
                    "打印指令格式错误", en=f"unterminated ESC D at byte {pos}", code="PRINTER_RENDER_BAD"
                )
            if c == ord("&"):  # ESC & y c1 c2 [x d1..d(y*x)]...
                need(5)
                y, c1, c2 = data[pos + 2], data[pos + 3], data[pos + 4]
                at = pos + 5
                for _ in range(max(0, c2 - c1 + 1)):
                    need(at + 1 - pos)
                    at += 1 + y * data[at]
                need(at - pos)
                return at - pos
            return None
        if b == GS:
            if c == ord("v"):  # GS v 0 m xL xH yL yH d
                need(8)
                k = u16(pos + 4) * u16(pos + 6)
                need(8 + k)
                return 8 + k
            if c == ord("k"):
                need(3)
                m = data[pos + 2]
                if m <= 6:  # NUL terminated
                    for i in range(pos + 3, min(len(data), pos + 3 + 256)):
                        if data[i] == 0:
                            return i + 1 - pos
                    if len(data) < pos + 3 + 256:
                        raise Incomplete(pos)
                    raise RenderError(
                        "打印指令格式错误", en=f"unterminated GS k at byte {pos}", code="PRINTER_RENDER_BAD"
                    )
                if 65 <= m <= 79:
                    need(4)
                    k = data[pos + 3]
                    need(4 + k)
                    return 4 + k
                raise RenderError(
                    "打印指令格式错误", en=f"unknown barcode system {m} at byte {pos}", code="PRINTER_RENDER_BAD"
                )
            if c == ord("V"):
                need(3)
                m = data[pos + 2]
                if m in (0, 1, 48, 49):
                    return 3
                if m in (65, 66, 97, 98, 103, 104):
                    need(4)
                    return 4
                raise RenderError(
                    "打印指令格式错误", en=f"unknown cut mode {m} at byte {pos}", code="PRINTER_RENDER_BAD"
                )
            if c == ord("*"):  # GS * x y d(x*y*8)
                need(4)
                k = data[pos + 2] * data[pos + 3] * 8
                need(4 + k)
                return 4 + k
            if c == ord("8"):  # GS 8 L p1 p2 p3 p4 m fn ...: a 32-bit length
                need(7)
                if data[pos + 2] != ord("L"):
                    return None
                k = data[pos + 3] | data[pos + 4] << 8 | data[pos + 5] << 16 | data[pos + 6] << 24
                need(7 + k)
                return 7 + k
            if c == ord("g"):  # GS g 0 m nL nH / GS g 2 m nL nH
                need(6)
                return 6
            if c == ord("z"):  # GS z 0 t1 t2
                need(5)
                return 5
            return None
        if b == FS:
            if c == ord("2"):  # FS 2 c1 c2 d1..d72: a user-defined 24×24 hanzi
                need(76)
                return 76
            if c == ord("q"):  # FS q n [xL xH yL yH d1..d(x*y*8)]...
                need(3)
                at = pos + 3
                for _ in range(data[pos + 2]):
                    need(at + 4 - pos)
                    at += 4 + u16(at) * u16(at + 2) * 8
                need(at - pos)
                return at - pos
            return None
        return None


# --- glyphs ----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glyph(ch: str, cell_w: int, cell_h: int, bold: bool, font_path: str | None):
    """A 1-bit ink mask of one character in its cell."""
    from PIL import Image, ImageDraw

    from drivers.printer.fonts import load_font

    size = 24 if cell_h >= 24 else 17
    font = load_font(size, font_path)
    advance = max(1, int(round(font.getlength(ch))))
    img = Image.new("L", (advance + 2, cell_h), 0)
    draw = ImageDraw.Draw(img)
    draw.text((0, cell_h // 2), ch, fill=255, font=font, anchor="lm")
    if bold:
        draw.text((1, cell_h // 2), ch, fill=255, font=font, anchor="lm")
    img = img.crop((0, 0, advance + (1 if bold else 0), cell_h))
    if img.width > cell_w:  # a proportional or too-wide face: squeeze into the cell like a printer font
        img = img.resize((cell_w, cell_h))
    cell = Image.new("L", (cell_w, cell_h), 0)
    # Keep the glyph where the font puts it in its advance (「 sits right, ， sits left).
    cell.paste(img, ((cell_w - img.width) // 2, 0))
    return cell.point(lambda v: 255 if v >= 110 else 0).convert("1")


# --- the paper -------------------------------------------------------------------------------


@dataclass
class _Item:
    x: int
    w: int
    h: int
    kind: str  # "glyph"
    payload: object = None
    underline: int = 0
    reverse: bool = False


@dataclass
class _State:
    font_b: bool = False
    bold: bool = False
    underline: int = 0
    reverse: bool = False
    ascii_w: int = 1
    ascii_h: int = 1
    cjk_w: int = 1
    cjk_h: int = 1
    align: int = 0
    left_margin: int = 0
    area_width: int = 0
    line_spacing: int = LINE_SPACING
    char_spacing: int = 0
    barcode_height: int = 162
    barcode_module: int = 3
    hri: int = 0
    hri_font_b: bool = False
    qr_module: int = 3
    qr_ec: str = "L"
    qr_data: bytes | None = None
    tabs: list[int] = field(default_factory=lambda: [8 * i for i in range(1, 33)])


# The commands each step of Renderer._execute handles, by their byte after the prefix.
_ESC_PRINT_MODE = frozenset(b"!EG-aM")
_ESC_MOTION = frozenset(b"dJ32 $\\D")
_GS_PRINT_MODE = frozenset(b"!BLW")
_GS_BARCODE_SETTINGS = frozenset(b"hwHf")


class Renderer:
    def __init__(self, width: int = DEFAULT_WIDTH, font_path: str | None = None):
        if not 8 <= width <= MAX_WIDTH:
            raise RenderError(
                "纸宽设置无效", en=f"paper width {width} dots is out of range", code="PRINTER_RENDER_BAD"
            )
        self.width = width
        self.font_path = font_path
        self.ops: list[tuple] = []  # ("mask", x, y, image) | ("rect", x, y, w, h) | ("cut", y, kind)
        self.y = 0
        self.st = _State(area_width=width)
        self.line: list[_Item] = []
        self.cursor = 0
        self.line_align = 0
        self.line_positioned = False
        self.ink = False

    # -- helpers ---------------------------------------------------------------------------
    def _area(self) -> int:
        return max(1, min(self.st.area_width, self.width - self.st.left_margin))

    def _advance(self, dots: int) -> None:
        self.y += max(0, dots)
        if self.y > MAX_HEIGHT:
            raise RenderError(
                "打印内容过长，无法预览",
                en=f"output longer than {MAX_HEIGHT} dots; not a receipt",
                code="PRINTER_RENDER_TOO_LONG",
            )

    def _flush(self, advance: int | None) -> None:
        """Print the line buffer; then feed ``advance`` dots (None: the line spacing)."""
        if self.line:
            line_h = max(it.h for it in self.line)
            content = max(it.x + it.w for it in self.line)
            shift = 0
            if not self.line_positioned:
                if self.line_align == 1:
                    shift = max(0, (self._area() - content) // 2)
                elif self.line_align == 2:
                    shift = max(0, self._area() - content)
            for it in self.line:
                x = self.st.left_margin + shift + it.x
                y = self.y + line_h - it.h
                if it.reverse:
                    self.ops.append(("rect", x, y, it.w, it.h))
                    self.ops.append(("mask_white", x, y, it.payload))
                else:
                    self.ops.append(("mask", x, y, it.payload))
                if it.underline:
                    self.ops.append(("rect", x, y + it.h - it.underline, it.w, it.underline))
            self.ink = True
            step = max(line_h, advance if advance is not None else self.st.line_spacing)
        else:
            step = advance if advance is not None else self.st.line_spacing
        self.line = []
        self.cursor = 0
        self.line_positioned = False
        self._advance(step)

    def _flush_if_any(self) -> None:
        if self.line:
            self._flush(0)

    def _place_block(self, img, *, align: int | None = None) -> None:
        """A block (QR, raster, barcode) printed on its own, aligned, paper fed by its height."""
        self._flush_if_any()
        if img.width <= 0 or img.height <= 0:
            return
        area = self._area()
        a = self.st.align if align is None else align
        x = self.st.left_margin
        if a == 1:
            x += max(0, (area - img.width) // 2)
        elif a == 2:
            x += max(0, area - img.width)
        self._advance(0)
        if self.y + img.height > MAX_HEIGHT:
            raise RenderError(
                "打印内容过长，无法预览", en="output too long to render", code="PRINTER_RENDER_TOO_LONG"
            )
        self.ops.append(("mask", x, self.y, img))
        self.ink = True
        self._advance(img.height)

    def _add_char(self, ch: str, wide: bool) -> None:
        st = self.st
        if wide:
            base_w, base_h = 24, 24
            mw, mh = st.cjk_w, st.cjk_h
        else:
            base_w, base_h = (9, 17) if st.font_b else (12, 24)
            mw, mh = st.ascii_w, st.ascii_h
        w, h = base_w * mw, base_h * mh
        if self.cursor + w > self._area():
            if self.cursor == 0:
                return  # wider than the paper: printers drop it
            self._flush(None)
        if not self.line:
            self.line_align = st.align
        mask = _glyph(ch, base_w, base_h, st.bold, self.font_path)
        if mw != 1 or mh != 1:
            mask = mask.resize((w, h))
        self.line.append(_Item(self.cursor, w, h, "glyph", mask, st.underline, st.reverse))
        self.cursor += w + st.char_spacing * mw

    # -- commands --------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        tok = Tokenizer()
        pos = 0
        n = len(data)
        while pos < n:
            try:
                t = tok.next(data, pos)
            except Incomplete as exc:
                raise RenderError(
                    f"打印数据不完整（第 {exc.pos} 字节的指令被截断）",
                    en=f"command at byte {exc.pos} is cut off at the end of the data",
                    code="PRINTER_RENDER_TRUNCATED",
                ) from None
            self._execute(t)
            pos = t.end

    def _execute(self, t: Token) -> None:
        """Apply one token to the paper: a character, a control code or a command by prefix."""
        if t.kind == "char":
            if t.char != "\x00":
                self._add_char(t.char, t.wide)
        elif t.kind == "ctl":
            self._control(t.code)
        elif t.kind == "esc":
            self._esc(t.code, t.params)
        elif t.kind == "gs":
            self._gs(t.code, t.params)
        elif t.kind == "fs":
            self._fs(t.code, t.params)
        # dle: real-time requests leave no mark

    def _control(self, code: int) -> None:
        if code == 0x0A:
            self._flush(None)
        elif code == 0x0C:  # FF: print the buffer
            self._flush_if_any()
        elif code == 0x09:
            self._tab()

    def _tab(self) -> None:
        cell = 9 if self.st.font_b else 12
        for stop in self.st.tabs:
            if stop * cell > self.cursor:
                self.cursor = min(stop * cell, self._area())
                break

    def _esc(self, c: int, p: bytes) -> None:
        if c == ord("@"):
            self._initialise()
        elif c in _ESC_PRINT_MODE:
            self._esc_print_mode(c, p)
        elif c in _ESC_MOTION:
            self._esc_motion(c, p)
        elif c in (ord("i"), ord("m")):
            self._cut("partial", 0)
        # everything else: code pages, drawer, beeper, page mode … no mark on the preview

    def _initialise(self) -> None:
        """ESC @: the printer's power-on state; what is in the line buffer is dropped."""
        self.line = []
        self.cursor = 0
        self.line_positioned = False
        self.st = _State(area_width=self.width)

    def _esc_print_mode(self, c: int, p: bytes) -> None:
        """How the next characters look: font, bold, size, underline, alignment."""
        st = self.st
        if c == ord("!"):
            m = p[0]
            st.font_b = bool(m & 0x01)
            st.bold = bool(m & 0x08)
            st.ascii_h = 2 if m & 0x10 else 1
            st.ascii_w = 2 if m & 0x20 else 1
            st.underline = 1 if m & 0x80 else 0
        elif c in (ord("E"), ord("G")):
            st.bold = bool(p[0] & 1)
        elif c == ord("-"):
            st.underline = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(p[0], st.underline)
        elif c == ord("a"):
            v = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(p[0], st.align)
            st.align = v
            if not self.line:
                self.line_align = v
        elif c == ord("M"):
            st.font_b = p[0] in (1, 49)

    def _esc_motion(self, c: int, p: bytes) -> None:
        """Where the next character goes: feeds, line and character spacing, positions, tabs."""
        st = self.st
        if c == ord("d"):
            if self.line:
                self._flush(None)
                self._advance(st.line_spacing * max(0, p[0] - 1))
            else:
                self._advance(st.line_spacing * p[0])
        elif c == ord("J"):
            self._flush(p[0])
        elif c == ord("3"):
            st.line_spacing = p[0]
        elif c == ord("2"):
            st.line_spacing = LINE_SPACING
        elif c == ord(" "):
            st.char_spacing = p[0]
        elif c == ord("$"):
            x = p[0] | p[1] << 8
            if x < self._area():
                self.cursor = x
                self.line_positioned = True
                if not self.line:
                    self.line_align = st.align
        elif c == ord("\\"):
            dx = p[0] | p[1] << 8
            if dx >= 0x8000:
                dx -= 0x10000
            x = self.cursor + dx
            if 0 <= x < self._area():
                self.cursor = x
                self.line_positioned = True
        elif c == ord("D"):
            st.tabs = [v for v in p[:-1] if v] or st.tabs

    def _gs(self, c: int, p: bytes) -> None:
        if c in _GS_PRINT_MODE:
            self._gs_print_mode(c, p)
        elif c in _GS_BARCODE_SETTINGS:
            self._gs_barcode_settings(c, p)
        elif c == ord("V"):
            m = p[0]
            kind = "full" if m in (0, 48, 65, 97, 103) else "partial"
            feed = p[1] if len(p) > 1 else 0
            self._cut(kind, feed)
        elif c == ord("v"):
            self._raster(p)
        elif c == ord("k"):
            self._barcode(p)
        elif c == ord("(") and p[0] == ord("k"):
            self._qr(p[3:])

    def _gs_print_mode(self, c: int, p: bytes) -> None:
        """Character size, reverse printing and the print area."""
        st = self.st
        if c == ord("!"):
            st.ascii_w = st.cjk_w = ((p[0] >> 4) & 0x07) + 1
            st.ascii_h = st.cjk_h = (p[0] & 0x07) + 1
        elif c == ord("B"):
            st.reverse = bool(p[0] & 1)
        elif c == ord("L"):
            if not self.line:
                st.left_margin = min(p[0] | p[1] << 8, self.width - 1)
        elif c == ord("W"):
            if not self.line:
                st.area_width = max(1, p[0] | p[1] << 8)

    def _gs_barcode_settings(self, c: int, p: bytes) -> None:
        """Height, module width and the human-readable line of the next barcode."""
        st = self.st
        if c == ord("h"):
            st.barcode_height = max(1, p[0])
        elif c == ord("w"):
            if 1 <= p[0] <= 6:
                st.barcode_module = p[0]
        elif c == ord("H"):
            st.hri = p[0] & 0x03
        elif c == ord("f"):
            st.hri_font_b = p[0] in (1, 49)

    def _fs(self, c: int, p: bytes) -> None:
        if c == ord("!"):  # the size of Chinese characters
            self.st.cjk_w = 2 if p[0] & 0x04 else 1
            self.st.cjk_h = 2 if p[0] & 0x08 else 1

    def _cut(self, kind: str, feed: int) -> None:
        self._flush_if_any()
        self._advance(feed)
        self.ops.append(("cut", self.y + 8, kind))
        self._advance(16)

    def _raster(self, p: bytes) -> None:
        from PIL import Image

        m = p[1] if len(p) > 1 else 0
        wb = p[2] | p[3] << 8
        h = p[4] | p[5] << 8
        bits = p[6:]
        if wb == 0 or h == 0:
            return
        if wb * 8 > MAX_WIDTH * 4 or h > MAX_HEIGHT:
            raise RenderError("图像过大，无法预览", en="raster image too large", code="PRINTER_RENDER_BAD")
        img = Image.frombytes("1", (wb * 8, h), bits)
        sx = 2 if m in (1, 3, 49, 51) else 1
        sy = 2 if m in (2, 3, 50, 51) else 1
        if sx != 1 or sy != 1:
            img = img.resize((img.width * sx, img.height * sy))
        if img.width > self._area():
            img = img.crop((0, 0, self._area(), img.height))
        self._place_block(img)

    def _qr(self, p: bytes) -> None:
        from PIL import Image

        if len(p) < 2 or p[0] != 0x31:  # not QR (PDF417, MaxiCode …): no preview
            return
        fn = p[1]
        args = p[2:]
        st = self.st
        if fn == 0x43 and args:
            if 1 <= args[0] <= 16:
                st.qr_module = args[0]
        elif fn == 0x45 and args:
            st.qr_ec = {48: "L", 49: "M", 50: "Q", 51: "H"}.get(args[0], st.qr_ec)
        elif fn == 0x50 and len(args) >= 1:
            st.qr_data = bytes(args[1:])
        elif fn == 0x51:
            if not st.qr_data:
                return  # nothing stored: the printer prints nothing
            matrix = qr_matrix(st.qr_data, st.qr_ec)
            size = len(matrix)
            img = Image.new("1", (size, size), 0)
            img.putdata([1 if dark else 0 for row in matrix for dark in row])
            img = img.resize((size * st.qr_module, size * st.qr_module))
            if img.width > self._area():
                return  # does not fit: printers skip the symbol
            self._place_block(img)

    def _barcode(self, p: bytes) -> None:
        from PIL import Image, ImageDraw

        st = self.st
        m = p[0]
        if m <= 6:
            payload = bytes(p[1:-1])
        else:
            payload = bytes(p[2:])
        if m == 73:
            modules, hri = code128_modules(payload)
        else:
            # Other symbologies: an outlined box stands in for the bars; the HRI text is shown.
            hri = payload.decode("latin-1")
            modules = None
        w = st.barcode_module
        if modules is not None:
            width = len(modules) * w
            bars = Image.new("1", (max(1, width), st.barcode_height), 0)
            draw = ImageDraw.Draw(bars)
            for i, bit in enumerate(modules):
                if bit == "1":
                    draw.rectangle((i * w, 0, i * w + w - 1, st.barcode_height - 1), fill=1)
        else:
            width = max(24, len(payload) * 11 * w)
            bars = Image.new("1", (width, st.barcode_height), 0)
            ImageDraw.Draw(bars).rectangle((0, 0, width - 1, st.barcode_height - 1), outline=1)
        if bars.width > self._area():
            return  # too wide for the paper: printers skip the barcode
        text_img = self._hri_image(hri) if st.hri else None
        parts = []
        if text_img is not None and st.hri in (1, 3):
            parts.append(text_img)
        parts.append(bars)
        if text_img is not None and st.hri in (2, 3):
            parts.append(text_img)
        total_w = max(im.width for im in parts)
        block = Image.new("1", (total_w, sum(im.height for im in parts)), 0)
        y = 0
        for im in parts:
            block.paste(im, ((total_w - im.width) // 2, y))
            y += im.height
        self._place_block(block)

    def _hri_image(self, text: str):
        from PIL import Image

        cw, ch = (9, 17) if self.st.hri_font_b else (12, 24)
        img = Image.new("1", (max(1, cw * len(text)), ch), 0)
        for i, c in enumerate(text):
            if 0x20 <= ord(c) < 0x7F:
                img.paste(_glyph(c, cw, ch, False, self.font_path), (i * cw, 0))
        return img

    # -- output ----------------------------------------------------------------------------
    def finish(self):
        from PIL import Image, ImageDraw

        self._flush_if_any()
        height = max(self.y + 8, 16)
        page = Image.new("1", (self.width, height), 1)
        draw = ImageDraw.Draw(page)
        for op in self.ops:
            if op[0] == "mask":
                _, x, y, mask = op
                page.paste(0, (x, y), mask)
            elif op[0] == "mask_white":
                _, x, y, mask = op
                page.paste(1, (x, y), mask)
            elif op[0] == "rect":
                _, x, y, w, h = op
                if w > 0 and h > 0:
                    draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
            elif op[0] == "cut":
                _, y, kind = op
                dash, gap = (16, 8) if kind == "full" else (6, 6)
                for x in range(0, self.width, dash + gap):
                    draw.rectangle((x, y, min(x + dash, self.width) - 1, y + 1), fill=0)
        return page


def render_image(data: bytes, *, width: int = DEFAULT_WIDTH, font_path: str | None = None):
    """The paper as a Pillow image (mode "1", white paper, black ink)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RenderError("打印数据必须为字节串", en="render input must be bytes", code="PRINTER_RENDER_BAD")
    r = Renderer(width, font_path)
    r.feed(bytes(data))
    return r.finish()


def render_png(data: bytes, path=None, *, width: int = DEFAULT_WIDTH, font_path: str | None = None) -> bytes:
    """Render to PNG bytes; also write them to ``path`` when given."""
    img = render_image(data, width=width, font_path=font_path)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    png = buf.getvalue()
    if path is not None:
        with open(path, "wb") as fh:
            fh.write(png)
    return png


# --- Code128 ---------------------------------------------------------------------------------

_C128 = (
    "11011001100 11001101100 11001100110 10010011000 10010001100 10001001100 10011001000 10011000100 "
    "10001100100 11001001000 11001000100 11000100100 10110011100 10011011100 10011001110 10111001100 "
    "10011101100 10011100110 11001110010 11001011100 11001001110 11011100100 11001110100 11101101110 "
    "11101001100 11100101100 11100100110 11101100100 11100110100 11100110010 11011011000 11011000110 "
    "11000110110 10100011000 10001011000 10001000110 10110001000 10001101000 10001100010 11010001000 "
    "11000101000 11000100010 10110111000 10110001110 10001101110 10111011000 10111000110 10001110110 "
    "11101110110 11010001110 11000101110 11011101000 11011100010 11011101110 11101011000 11101000110 "
    "11100010110 11101101000 11101100010 11100011010 11101111010 11001000010 11110001010 10100110000 "
    "10100001100 10010110000 10010000110 10000101100 10000100110 10110010000 10110000100 10011010000 "
    "10011000010 10000110100 10000110010 11000010010 11001010000 11110111010 11000010100 10001111010 "
    "10100111100 10010111100 10010011110 10111100100 10011110100 10011110010 11110100100 11110010100 "
    "11110010010 11011011110 11011110110 11110110110 10101111000 10100011110 10001011110 10111101000 "
    "10111100010 11110101000 11110100010 10111011110 10111101110 11101011110 11110101110 11010000100 "
    "11010010000 11010011100"
).split()
_C128_STOP = "1100011101011"


def code128_values(payload: bytes) -> tuple[list[int], str]:
    """Epson GS k 73 data (``{A``/``{B``/``{C`` code set prefixes) → symbol values and HRI text."""
    if len(payload) < 2 or payload[0] != ord("{") or payload[1] not in b"ABC":
        raise RenderError(
            "条码数据格式错误", en="Code128 data must start with {A, {B or {C", code="PRINTER_RENDER_BAD"
        )
    cset = chr(payload[1])
    values = [{"A": 103, "B": 104, "C": 105}[cset]]
    hri = []
    i = 2
    shift = False
    while i < len(payload):
        b = payload[i]
        if b == ord("{"):
            if i + 1 >= len(payload):
                raise RenderError("条码数据格式错误", en="Code128 data ends in '{'", code="PRINTER_RENDER_BAD")
            f = chr(payload[i + 1])
            i += 2
            if f in "ABC" and f != cset:
                values.append({"A": 101, "B": 100, "C": 99}[f])
                cset = f
            elif f in "ABC":
                raise RenderError(
                    "条码数据格式错误", en="Code128 switches to the code set it is in", code="PRINTER_RENDER_BAD"
                )
            elif f == "S" and cset in "AB":
                values.append(98)
                shift = True
            elif f == "1":
                values.append(102)
            elif f == "2" and cset in "AB":
                values.append(97)
            elif f == "3" and cset in "AB":
                values.append(96)
            elif f == "4" and cset in "AB":
                values.append(101 if cset == "B" else 100)
            elif f == "{" and cset in "AB":
                values.append(ord("{") - 32)
                hri.append("{")
            else:
                raise RenderError("条码数据格式错误", en=f"bad Code128 escape {{{f}", code="PRINTER_RENDER_BAD")
            continue
        active = cset
        if shift:
            active = "B" if cset == "A" else "A"
            shift = False
        if active == "C":
            if b > 99:
                raise RenderError(
                    "条码数据格式错误", en="Code128 code set C takes bytes 0..99", code="PRINTER_RENDER_BAD"
                )
            values.append(b)
            hri.append(f"{b:02d}")
        elif active == "B":
            if not 0x20 <= b <= 0x7F:
                raise RenderError(
                    "条码数据格式错误", en="Code128 code set B takes bytes 32..127", code="PRINTER_RENDER_BAD"
                )
            values.append(b - 32)
            hri.append(chr(b) if b < 0x7F else " ")
        else:
            if b < 0x20:
                values.append(b + 64)
                hri.append(" ")
            elif b <= 0x5F:
                values.append(b - 32)
                hri.append(chr(b))
            else:
                raise RenderError(
                    "条码数据格式错误", en="Code128 code set A takes bytes 0..95", code="PRINTER_RENDER_BAD"
                )
        i += 1
    if len(values) < 2:
        raise RenderError("条码数据为空", en="empty Code128", code="PRINTER_RENDER_BAD")
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    values.append(check)
    return values, "".join(hri)


def code128_modules(payload: bytes) -> tuple[str, str]:
    """The bar/space pattern ("1" = bar, one char per module) and the HRI text."""
    values, hri = code128_values(payload)
    return "".join(_C128[v] for v in values) + _C128_STOP, hri
