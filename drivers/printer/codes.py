"""ESC/POS command bytes: the subset Kezhan emits, as small builders.

Kept separate from the layout so that the renderer's tests and the layout share one spelling
of each command.
"""

from __future__ import annotations

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
LF = b"\n"

INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."

# DLE EOT n: real-time status (1 printer, 2 offline cause, 3 error cause, 4 roll paper sensor).
STATUS_PRINTER = DLE + b"\x04\x01"
STATUS_OFFLINE = DLE + b"\x04\x02"
STATUS_ERROR = DLE + b"\x04\x03"
STATUS_PAPER = DLE + b"\x04\x04"

ALIGNMENTS = {"left": 0, "center": 1, "right": 2}

# GS ! n: high nibble is width-1, low nibble height-1. Affects ASCII and hanzi alike, unlike
# ESC ! (ASCII only) and FS ! (hanzi only), so one command sizes a mixed line.
SIZES = {
    "normal": 0x00,
    "double_width": 0x10,
    "double_height": 0x01,
    "double": 0x11,
    "triple": 0x22,
}

QR_EC_LEVELS = {"L": 48, "M": 49, "Q": 50, "H": 51}


def _u16(n: int) -> bytes:
    if not 0 <= n <= 0xFFFF:
        raise ValueError(f"{n} does not fit two bytes")
    return bytes((n & 0xFF, n >> 8))


def align(name: str) -> bytes:
    return ESC + b"a" + bytes((ALIGNMENTS[name],))


def bold(on: bool) -> bytes:
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def size(name: str) -> bytes:
    return GS + b"!" + bytes((SIZES[name],))


def feed_lines(n: int) -> bytes:
    return ESC + b"d" + bytes((max(0, min(n, 255)),))


def feed_dots(n: int) -> bytes:
    """ESC J n, in chunks: one command feeds at most 255 dots."""
    out = b""
    while n > 0:
        step = min(n, 255)
        out += ESC + b"J" + bytes((step,))
        n -= step
    return out


def position(x_dots: int) -> bytes:
    """ESC $: absolute horizontal position from the left margin."""
    return ESC + b"$" + _u16(x_dots)


def left_margin(x_dots: int) -> bytes:
    """GS L: the left margin; also moves QR codes and raster images, which ESC $ does not."""
    return GS + b"L" + _u16(x_dots)


def cut(kind: str, feed: int = 0) -> bytes:
    """GS V 65/66 n: feed n dots to the cutter and cut fully (65) or partially (66)."""
    if kind not in ("full", "partial"):
        raise ValueError(f"cut kind {kind!r}")
    return GS + b"V" + bytes((65 if kind == "full" else 66, max(0, min(feed, 255))))


def qr_native(data: bytes, module: int, ec: str) -> bytes:
    """GS ( k, model 2: select model, module size, EC level, store data, print."""
    if not 1 <= module <= 16:
        raise ValueError("QR module size is 1..16 dots")
    store = b"\x31\x50\x30" + data
    return (
        GS
        + b"(k"
        + _u16(4)
        + b"\x31\x41\x32\x00"
        + GS
        + b"(k"
        + _u16(3)
        + b"\x31\x43"
        + bytes((module,))
        + GS
        + b"(k"
        + _u16(3)
        + b"\x31\x45"
        + bytes((QR_EC_LEVELS[ec],))
        + GS
        + b"(k"
        + _u16(len(store))
        + store
        + GS
        + b"(k"
        + _u16(3)
        + b"\x31\x51\x30"
    )


def raster(width: int, height: int, rows: bytes) -> bytes:
    """GS v 0: a 1-bit raster image, rows of ceil(width/8) bytes, MSB first, 1 = black."""
    width_bytes = (width + 7) // 8
    if len(rows) != width_bytes * height:
        raise ValueError("raster data does not match its size")
    return GS + b"v0\x00" + _u16(width_bytes) + _u16(height) + rows


def code128(data: str, height: int = 64, module: int = 2, hri: str = "below") -> bytes:
    """GS k 73: Code128 in code set B (data must be printable ASCII), with HRI text."""
    if not data or any(not 0x20 <= ord(c) <= 0x7E for c in data):
        raise ValueError("Code128 data must be printable ASCII")
    payload = b"{B" + data.replace("{", "{{").encode("ascii")
    if len(payload) > 255:
        raise ValueError("Code128 data too long")
    hri_pos = {"none": 0, "above": 1, "below": 2, "both": 3}[hri]
    return (
        GS
        + b"h"
        + bytes((max(1, min(height, 255)),))
        + GS
        + b"w"
        + bytes((max(2, min(module, 6)),))
        + GS
        + b"H"
        + bytes((hri_pos,))
        + GS
        + b"k\x49"
        + bytes((len(payload),))
        + payload
    )
