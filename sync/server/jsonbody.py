"""Decoding request bodies and re-encoding their events: orjson when it is installed (the ``server``
extra), else the stdlib.

The event contract's canonical JSON is ``app.domain.events.canonical_json`` (stdlib): one byte of
difference between the terminal's hash and the server's is a refused batch or a SEQ_REUSE alarm.
orjson may only stand in where that cannot happen:

* decoding, where it yields exactly the objects ``json.loads`` would (below);
* encoding for the hash (``event_hash_and_payload_text``), where its text is used only when it hashes
  to the hash the terminal sent, which makes it the very text the terminal hashed. Anything else
  (a float, whose exponent orjson writes differently; an int beyond 64 bits; a tampered event) is
  encoded again by the contract's own encoder, which alone decides.

Decoding: the faster decoder may be used only where it yields exactly the objects ``json.loads`` would. It refuses
what the stdlib accepts (NaN, 1e400, lone surrogate escapes, a BOM, UTF-16): those fall back to the
stdlib. The one silent difference is an integer beyond 64 bits, which orjson turns into a float:
a body that could hold one goes to the stdlib without being tried.
"""

from __future__ import annotations

import hashlib
import json

from sync import protocol

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
    try:
        return json.loads(raw)
    except RecursionError:
        # Thousands of nested brackets exhaust the stack: a malformed body, not a server fault.
        raise NestedTooDeep() from None


class NestedTooDeep(ValueError):
    """A body nested deeper than the decoder's stack allows (a ``ValueError``, as bad JSON is)."""

    def __init__(self):
        super().__init__("JSON nested too deeply")


def event_hash_and_payload_text(event: dict) -> tuple[str, str]:
    """``protocol.event_hash_and_payload_text(event)``, about three times faster for an event whose
    ``hash`` is right: orjson's sorted compact UTF-8 is the canonical text for the strings, integers,
    booleans, nulls, lists and objects a payload holds, and a matching sha256 proves it byte for byte."""
    if orjson is not None:
        try:
            text = orjson.dumps({k: event[k] for k in protocol.EVENT_FIELDS}, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an int beyond 64 bits, a lone surrogate: the stdlib decides
            pass
        else:
            digest = hashlib.sha256(text).hexdigest()
            if digest == event.get("hash"):
                # Where the payload sits: see protocol.event_hash_and_payload_text.
                return digest, text[text.index(b'"payload":') + 10:text.rindex(b',"seq":')].decode("utf-8")
    return protocol.event_hash_and_payload_text(event)
