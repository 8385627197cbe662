"""Decoding request bodies: orjson when it is installed (the ``server`` extra), else the stdlib.

Only decoding. What hashes an event is always ``app.domain.events.canonical_json`` (stdlib), because
one byte of difference between the terminal's hash and the server's is a SEQ_REUSE alarm. So the
faster decoder may be used only where it yields exactly the objects ``json.loads`` would. It refuses
what the stdlib accepts (NaN, 1e400, lone surrogate escapes, a BOM, UTF-16): those fall back to the
stdlib. The one silent difference is an integer beyond 64 bits, which orjson turns into a float:
a body that could hold one goes to the stdlib without being tried.
"""

from __future__ import annotations

import json

try:
    import orjson
except ImportError:  # the server runs without the extra, only slower
    orjson = None

# A JSON number literal stands after ``:``, ``,`` or ``[`` (whitespace aside). Mapping digits to
# ``0``, those three to ``:`` and deleting whitespace lets two substring searches find every
# literal of 19 or more digits (the only ones that may not fit 64 bits) in about a millisecond per
# megabyte. The same pattern inside a string is a false alarm that only costs the faster path.
_SHAPE = bytearray(b"x" * 256)
for _c in b"0123456789":
    _SHAPE[_c] = ord("0")
for _c in b":,[":
    _SHAPE[_c] = ord(":")
_SHAPE[ord("-")] = ord("-")
_SHAPE = bytes(_SHAPE)
_WHITESPACE = b" \t\n\r"
_LONG = b"0" * 19


def may_hold_big_int(raw: bytes) -> bool:
    shape = raw.translate(_SHAPE, _WHITESPACE)
    return (b":" + _LONG in shape or b":-" + _LONG in shape
            or shape.startswith(_LONG) or shape.startswith(b"-" + _LONG))


def loads(raw: bytes):
    """``json.loads(raw)``, the same objects and the same errors, faster for large bodies."""
    if orjson is not None and not may_hold_big_int(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the stdlib either accepts it (see above) or raises its own error
    return json.loads(raw)
