"""The outbox event contract (docs/architecture.md § Outbox events): the fields, the types, and the
one canonical JSON both the terminal and the provincial server hash. A single definition, because
a byte of difference between the two sides would turn every upload into a SEQ_REUSE alarm."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

EVENT_FIELDS = ("terminal_id", "seq", "event_id", "type", "created_at", "payload")
EVENT_TYPES = (
    "shift.opened",
    "ticket.sold",
    "ticket.refunded",
    "ticket.changed",
    "ticket.voided",
    "ticket.reprinted",
    "ticket.picked_up",
    "stock.spoiled",
    "shift.closed",
)

# Made once: json.dumps with options builds a new encoder on every call.
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, characters as themselves (not \\u escapes), no NaN."""
    return _encode(value)


def event_hash(event: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON (UTF-8) of the event's six content fields."""
    return hashlib.sha256(_encode({k: event[k] for k in EVENT_FIELDS}).encode("utf-8")).hexdigest()


def event_hash_of_text(terminal_id: str, seq: int, event_id: str, type_: str, created_at: str,
                       payload_text: str) -> str:
    """:func:`event_hash` of an event whose payload is given as its canonical JSON text: the six
    fields' canonical JSON assembled around that text (keys in sorted order) instead of encoding
    the payload again. Equal to ``event_hash`` whenever ``payload_text == canonical_json(payload)``;
    the four string fields and the integer are encoded here exactly as ``canonical_json`` would."""
    if type(seq) is not int:  # True would pass for 1 here but hash as ``true`` in canonical_json
        raise TypeError("seq must be an int")
    text = (f'{{"created_at":{encode_basestring(created_at)},"event_id":{encode_basestring(event_id)},'
            f'"payload":{payload_text},"seq":{seq},"terminal_id":{encode_basestring(terminal_id)},'
            f'"type":{encode_basestring(type_)}}}')
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
