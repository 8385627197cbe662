import hashlib
import json
import math

import pytest

from app.domain.events import EVENT_FIELDS, canonical_json, event_hash, event_hash_of

EVENT = {
    "terminal_id": "330102001-T01", "seq": 7, "event_id": "0f" * 16, "type": "ticket.sold",
    "created_at": "2026-11-24T01:00:00.000000Z", "payload": {"tickets": [{"passenger": {"name": "张三"}}], "b": 1},
}


def test_canonical_json_is_sorted_compact_and_keeps_hanzi():
    assert canonical_json({"b": 1, "a": [1, "张"]}) == '{"a":[1,"张"],"b":1}'


def test_canonical_json_refuses_nan_rather_than_hashing_what_the_other_side_cannot_parse():
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_event_hash_covers_exactly_the_six_fields():
    expected = hashlib.sha256(canonical_json({k: EVENT[k] for k in EVENT_FIELDS}).encode("utf-8")).hexdigest()
    assert event_hash(EVENT) == expected
    assert event_hash({**EVENT, "hash": "ignored", "received_at": "also ignored"}) == expected
    assert event_hash({**EVENT, "seq": 8}) != expected
    assert event_hash({**EVENT, "payload": {**EVENT["payload"], "b": 2}}) != expected


@pytest.mark.parametrize("payload", [
    EVENT["payload"],
    {"ticket_id": "330102001001" + "0" * 9 + "1", "seat_no": None, "unknown": False, "via": "code"},
    {"note": "引号\"与反斜杠\\ 和换行\n", "x": 1.5, "nested": {"z": [], "a": {}}},
    {},
])
def test_the_hash_of_an_event_whose_payload_is_already_encoded_is_the_same_hash(payload):
    event = {**EVENT, "payload": payload, "terminal_id": "330102001-T\"02", "type": "ticket.checked"}
    assert event_hash_of(event["terminal_id"], event["seq"], event["event_id"], event["type"], event["created_at"],
                         canonical_json(payload)) == event_hash(event)


def test_canonical_json_is_what_the_configured_encoder_gives_and_refuses_what_it_refuses():
    reference = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
    for value in ({"b": 1, "a": [1, "张", None, True, 1.5, -0.0, 10**30]}, [], {}, "text", 7,
                  [{"x": {"y": ["\n\"\\\u2028\x00"]}}]):
        assert canonical_json(value) == reference(value)
    circular: list = []
    circular.append(circular)
    for bad, error in (({"x": math.inf}, ValueError), ({"x": object()}, TypeError), (circular, ValueError)):
        with pytest.raises(error):
            canonical_json(bad)
