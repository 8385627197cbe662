"""Text to printer bytes: GB18030 in Chinese mode, ASCII outside it.

python-escpos neither switches Chinese mode nor knows GB18030, and it turns Chinese punctuation
into ``?``. We encode ourselves:

* ASCII (0x20..0x7E) is sent as single bytes *outside* Chinese mode (``FS .``).
* Everything else that has a two-byte GB18030 code is sent inside Chinese mode (``FS &``),
  where the printer reads lead byte + trail byte as one hanzi.
* Each encoded string leaves the printer outside Chinese mode, so pieces can be concatenated
  without tracking state.

Substitution policy, in order, for a character that is neither ASCII nor two-byte GB18030:

1. ``¥`` (U+00A5) becomes the full-width ``￥`` (GB18030 A3A4), the form every printer font has.
2. Characters whose GB18030 code is four bytes (CJK extension B and later, emoji, some symbols)
   are sent as four bytes when the printer profile says its font has them (``four_byte=True``);
   most thermal printers only hold the two-byte set, so by default they go on to the next steps.
3. A few typographic characters get a close printable cousin (see ``_COUSINS``: no-break and
   thin spaces → space, zero-width characters → nothing, ``−`` → ``-``, ``・`` → ``·``).
4. The NFKC compatibility form is used when it is printable (``ﬁ`` → ``fi``).
5. Anything else becomes ``〓`` (U+3013, the geta mark, GB18030 A1FE): the traditional
   Chinese typesetter's sign for a missing glyph, which a clerk will not mistake for text.

``encode()`` returns the substitutions it made so a caller can log or warn about them.
Control characters (C0, DEL, C1) become a space, so data can never smuggle a printer command.
``?`` is printed only where the text had a ``?``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from drivers.printer.codes import CHINESE_OFF, CHINESE_ON

MISSING = "〓"

_COUSINS = {
    "\u2212": "-",
    "\u2012": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u200b": "",
    "\ufeff": "",
    "\u2027": "·",  # hyphenation point, sometimes used as a name separator
    "\u30fb": "·",  # katakana middle dot, common in transliterated foreign names
    "\u2022": "·",
}


@dataclass
class Encoded:
    data: bytes
    substituted: list[tuple[str, str]] = field(default_factory=list)


def _two_byte(ch: str) -> bytes | None:
    try:
        b = ch.encode("gb18030")
    except UnicodeEncodeError:
        return None
    return b if len(b) == 2 else None


def _four_byte(ch: str) -> bytes | None:
    try:
        b = ch.encode("gb18030")
    except UnicodeEncodeError:
        return None
    return b if len(b) == 4 else None


def _is_control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or 0x7F <= o < 0xA0


def _pieces(ch: str, four_byte: bool) -> tuple[list[tuple[bool, bytes]], str | None]:
    """(list of (chinese_mode, bytes), replacement text or None when printed as is)."""
    if _is_control(ch):
        return [(False, b" ")], " "
    if 0x20 <= ord(ch) <= 0x7E:
        return [(False, ch.encode("ascii"))], None
    if ch == "\u00a5":
        return _encode_plain("￥"), "￥"
    two = _two_byte(ch)
    if two:
        return [(True, two)], None
    if four_byte:
        four = _four_byte(ch)
        if four:
            return [(True, four)], None
    if ch in _COUSINS:
        repl = _COUSINS[ch]
        return _encode_plain(repl), repl
    nfkc = unicodedata.normalize("NFKC", ch)
    if nfkc != ch and nfkc and all((0x20 <= ord(c) <= 0x7E) or _two_byte(c) for c in nfkc):
        return _encode_plain(nfkc), nfkc
    return [(True, _two_byte(MISSING))], MISSING


def _encode_plain(text: str) -> list[tuple[bool, bytes]]:
    out = []
    for c in text:
        if 0x20 <= ord(c) <= 0x7E:
            out.append((False, c.encode("ascii")))
        else:
            out.append((True, _two_byte(c) or _two_byte(MISSING)))
    return out


def encode(text: str, *, four_byte: bool = False) -> Encoded:
    """Encode ``text`` for a printer in GB18030 Chinese mode; see the module doc for the policy."""
    out = bytearray()
    subs: list[tuple[str, str]] = []
    chinese = False
    for ch in text:
        pieces, repl = _pieces(ch, four_byte)
        if repl is not None and not _is_control(ch):
            subs.append((ch, repl))
        for mode, data in pieces:
            if mode != chinese:
                out += CHINESE_ON if mode else CHINESE_OFF
                chinese = mode
            out += data
    if chinese:
        out += CHINESE_OFF
    return Encoded(bytes(out), subs)


def encode_text(text: str, *, four_byte: bool = False) -> bytes:
    return encode(text, four_byte=four_byte).data


def display_width(text: str, *, four_byte: bool = False) -> int:
    """Columns the text takes in the printer's base font: ASCII 1, a hanzi or full-width sign 2."""
    width = 0
    for ch in text:
        pieces, _ = _pieces(ch, four_byte)
        for mode, _data in pieces:
            width += 2 if mode else 1
    return width


def fit(text: str, columns: int) -> str:
    """Cut ``text`` to at most ``columns`` display columns."""
    out = []
    width = 0
    for ch in text:
        w = display_width(ch)
        if width + w > columns:
            break
        out.append(ch)
        width += w
    return "".join(out)
