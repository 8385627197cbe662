"""The outbox event contract (docs/architecture.md § Outbox events): the fields, the types, and the
one canonical JSON both the terminal and the provincial server hash. A single definition, because
a byte of difference between the two sides would turn every upload into a SEQ_REUSE alarm."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from json.encoder import c_make_encoder
from json.encoder import encode_basestring as _encode_str
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
    # The gate (docs/gate.md § Events).
    "gate.opened",
    "gate.stopped",
    "ticket.checked",
    "ticket.check_undone",
    "ticket.ride_changed",
    "departure.merged",
    "roadbill.made",
    "roadbill.reprinted",
    "roadbill.voided",
    # The station supervisor's departure actions (docs/supervisor.md).
    "departure.cancelled",
    "departure.delayed",
    "departure.added",
)

# Made once: json.dumps with options builds a new encoder on every call.
_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode = _encoder.encode
# JSONEncoder.encode still makes its C encoder on every call (an event is encoded on every sale and
# scan): this one is made once, with the same options, without the circular-reference marks.
_encode_container = None if c_make_encoder is None else c_make_encoder(
    None, _encoder.default, _encode_str, None, ":", ",", True, False, False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, characters as themselves (not \\u escapes), no NaN."""
    if _encode_container is not None and type(value) in (dict, list):
        try:
            return "".join(_encode_container(value, 0))
        except RecursionError:
            pass  # a circular value: the encoder's own check below says so
    return _encode(value)


def event_hash(event: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON (UTF-8) of the event's six content fields."""
    return hashlib.sha256(_encode({k: event[k] for k in EVENT_FIELDS}).encode("utf-8")).hexdigest()


def _field(value: Any) -> str:
    # What the encoder does with a str (the ensure_ascii=False escaping) and an int, without its
    # per-call set-up; anything else goes through the encoder itself.
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    return int.__repr__(value) if kind is int else _encode(value)


def event_hash_of(terminal_id: str, seq: int, event_id: str, type_: str, created_at: str, payload_json: str) -> str:
    """:func:`event_hash` of an event whose payload's canonical JSON is ``payload_json`` already (as
    the outbox stores it), without encoding the payload a second time: the canonical JSON of the
    event is its fields in key order, and a nested object encodes as it does on its own, so the
    bytes hashed are the same."""
    text = (f'{{"created_at":{_field(created_at)},"event_id":{_field(event_id)},"payload":{payload_json},'
            f'"seq":{_field(seq)},"terminal_id":{_field(terminal_id)},"type":{_field(type_)}}}')
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
