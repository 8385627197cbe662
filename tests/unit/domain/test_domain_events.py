import hashlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.events import EVENT_FIELDS, canonical_json, event_hash, event_hash_of_text

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


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(terminal_id=_text, seq=st.integers(min_value=1, max_value=2**40), event_id=_text, type_=_text,
       created_at=_text, payload=st.dictionaries(st.text(max_size=8), _json_values, max_size=5))
def test_the_hash_of_a_payload_text_equals_the_hash_of_the_event(terminal_id, seq, event_id, type_, created_at,
                                                                  payload):
    # Quotes, backslashes, control characters and hanzi in any field: both ways give one hash.
    event = {"terminal_id": terminal_id, "seq": seq, "event_id": event_id, "type": type_,
             "created_at": created_at, "payload": payload}
    assert event_hash_of_text(terminal_id, seq, event_id, type_, created_at, canonical_json(payload)) == \
        event_hash(event)


def test_the_hash_of_a_payload_text_refuses_a_seq_that_is_not_an_int():
    text = canonical_json(EVENT["payload"])
    with pytest.raises(TypeError):
        event_hash_of_text("T", True, "e", "ticket.sold", "t", text)  # canonical JSON would say true, not 1
