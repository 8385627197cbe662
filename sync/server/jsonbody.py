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
import re

from app.domain.events import canonical_json

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


# Where a number can stand in compact JSON: as an object's value (after ``":``) or as an array's
# element (after ``[`` or ``,``). With every digit mapped to ``0``, one pass over the text finds the
# two kinds of number whose orjson reading or writing differs from the stdlib's: floats (orjson
# writes ``1e16`` where canonical JSON has ``1e+16``) and integers of 19 or more digits (beyond
# 64 bits orjson reads a float). Any number in an array sends the text the stdlib way too (our
# payloads have none). The same bytes inside a string are only a false alarm, which costs the
# slower path; neither kind can slip past.
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_OBJECT_FLOAT = re.compile(rb'":-?0+[.eE]')
_LONG_VALUE, _LONG_NEGATIVE = b'":' + _LONG, b'":-' + _LONG


def _needs_stdlib(raw: bytes) -> bool:
    shape = raw.translate(_DIGITS)
    return (b",0" in shape or b"[0" in shape or b",-0" in shape or b"[-0" in shape
            or _LONG_VALUE in shape or _LONG_NEGATIVE in shape or _OBJECT_FLOAT.search(shape) is not None)


def load_canonical(text: str):
    """The value of ``text`` when ``text`` is exactly its own canonical JSON
    (``app.domain.events.canonical_json``); ``ValueError`` when it is not JSON, not canonical
    (spaces, key order, duplicate keys, escapes written another way) or holds what canonical JSON
    refuses (NaN, infinities, lone surrogates).

    For everything but floats and integers beyond 64 bits, orjson reads exactly what the stdlib
    reads and its sorted compact output is byte for byte the canonical encoding; texts that may
    hold either are read and checked by the stdlib instead."""
    raw = text.encode("utf-8")  # a lone surrogate cannot be UTF-8: UnicodeEncodeError, a ValueError
    if orjson is not None and not _needs_stdlib(raw):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = json.loads(text)  # what orjson refuses and the stdlib reads (NaN...), or its error
        else:
            try:
                if orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == raw:
                    return value
            except TypeError:
                pass  # a lone surrogate (escaped in the text): the stdlib decides
    else:
        value = json.loads(text)
    if canonical_json(value) != text:  # raises ValueError for NaN and infinities
        raise ValueError("not canonical JSON (sorted keys, no spaces, characters as themselves)")
    return value
