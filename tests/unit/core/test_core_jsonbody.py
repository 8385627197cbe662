"""The server's body decoder yields exactly what ``json.loads`` yields: the event hash is computed
on the decoded objects, so an int that turned into a float, or a string decoded differently, would
refuse a good batch (or worse, store something else than the terminal sent)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.events import canonical_json, event_hash
from sync import protocol
from sync.server import jsonbody

orjson = pytest.importorskip("orjson")

HANZI = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
TEXT = st.text(st.one_of(HANZI, st.characters(codec="utf-8"), st.sampled_from('"\\/\b\f\n\r\t\x00\x1f:,[-0123456789')))
BIG = st.one_of(st.integers(), st.integers(min_value=2**62, max_value=2**70),
                st.integers(min_value=-(2**70), max_value=-(2**62)), st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]))
SCALAR = st.one_of(st.none(), st.booleans(), BIG, st.floats(allow_nan=False, allow_infinity=False), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                     st.dictionaries(TEXT, inner, max_size=5)), max_leaves=30)


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 would hide an int made a float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def event_body(payload) -> bytes:
    """An upload body as the terminal writes it: canonical payload text, hanzi unescaped."""
    ev = {"created_at": "2026-11-24T00:00:00Z", "event_id": "e" * 32, "hash": "0" * 64,
          "payload": payload, "seq": 7, "terminal_id": "330102001-T01", "type": "ticket.sold"}
    return ('{"events":[' + canonical_json(ev) + "]}").encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, VALUE, max_size=8))
def test_payload_shaped_bodies_decode_as_the_stdlib_does(payload):
    raw = event_body(payload)
    assert same(jsonbody.loads(raw), json.loads(raw))


@settings(max_examples=400, deadline=None)
@given(VALUE, st.booleans())
def test_any_value_escaped_or_not_decodes_as_the_stdlib_does(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    assert same(jsonbody.loads(raw), json.loads(raw))


@pytest.mark.parametrize("raw", [
    b"12345678901234567890", b"-12345678901234567890", b'{"n": [1,\n 18446744073709551616]}',
    b'{"n":-9223372036854775809}', b'{"n":18446744073709551615}', b'{"a":1e400}', b'{"a":NaN}',
    b'{"a":-Infinity}', b'"\\ud800"', b'\xef\xbb\xbf{"a":1}', '{"a":"客站"}'.encode("utf-16"),
    b'{"a":1,"a":2}', b'{"s":"x:12345678901234567890"}',
])
def test_what_orjson_refuses_or_reads_otherwise_goes_to_the_stdlib(raw):
    assert same(jsonbody.loads(raw), json.loads(raw))


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a":}', b"\xff\xfe\xfd", b'{"a":1}x'])
def test_malformed_bodies_raise_the_same_kind_of_error(raw):
    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        jsonbody.loads(raw)


def test_big_ints_are_noticed_wherever_a_number_may_stand():
    assert jsonbody.may_hold_big_int(b'{"n":\t -1234567890123456789}')
    assert jsonbody.may_hold_big_int(b"[1234567890123456789]")
    assert not jsonbody.may_hold_big_int(b'{"n":123456789012345678,"h":"9f1234567890123456789012"}')


def test_without_orjson_the_stdlib_decodes(monkeypatch):
    monkeypatch.setattr(jsonbody, "orjson", None)
    assert jsonbody.loads('{"a":["客站",1]}'.encode()) == {"a": ["客站", 1]}


# --------------------------------------------------------------------------- hashing an uploaded event

def uploaded(payload, **fields) -> dict:
    """An event as the server receives it: decoded the way the server decodes, hash as the terminal made it."""
    ev = {"terminal_id": "330102001-T01", "seq": 7, "event_id": "e" * 32, "type": "ticket.sold",
          "created_at": "2026-11-24T00:00:00.000000Z", "payload": payload, **fields}
    ev.setdefault("hash", event_hash(ev))
    return jsonbody.loads(json.dumps(ev, ensure_ascii=False).encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, VALUE, max_size=8))
def test_an_event_hashes_and_stores_exactly_as_the_contract_encodes_it(payload):
    ev = uploaded(payload)
    digest, text = jsonbody.event_hash_and_payload_text(ev)
    assert (digest, text) == protocol.event_hash_and_payload_text(ev)
    assert digest == ev["hash"]
    assert text == canonical_json(ev["payload"])


@pytest.mark.parametrize("payload", [
    {"fare": 1e16, "rate": 1e-07, "x": 0.1},  # orjson writes these 1e16 and 1e-7
    {"n": 2**64 + 1, "m": -(2**63) - 1},  # beyond what orjson encodes
])
def test_values_orjson_writes_otherwise_are_hashed_by_the_contract_encoder(payload):
    ev = {"terminal_id": "330102001-T01", "seq": 7, "event_id": "e" * 32, "type": "ticket.sold",
          "created_at": "2026-11-24T00:00:00.000000Z", "payload": payload}
    ev["hash"] = event_hash(ev)
    digest, text = jsonbody.event_hash_and_payload_text(ev)
    assert digest == ev["hash"]
    assert text == canonical_json(payload)
    if "fare" in payload:
        assert "1e+16" in text and "1e-07" in text


def test_a_wrong_hash_is_answered_with_the_contract_hash():
    ev = uploaded({"seat_no": 3, "name": "客站"}, hash="0" * 64)
    digest, text = jsonbody.event_hash_and_payload_text(ev)
    assert digest != "0" * 64
    assert (digest, text) == protocol.event_hash_and_payload_text(ev)


def test_without_orjson_the_contract_encoder_hashes(monkeypatch):
    ev = uploaded({"seat_no": 3, "name": "客站"})
    monkeypatch.setattr(jsonbody, "orjson", None)
    assert jsonbody.event_hash_and_payload_text(ev) == (ev["hash"], '{"name":"客站","seat_no":3}')


def test_a_sale_as_terminals_send_it_takes_the_fast_path(monkeypatch):
    """The contract encoder is not run for an event whose orjson text hashes right: that is the
    whole point of the fast path (about three times less work per event on the server)."""
    ev = uploaded({"order_id": "O1", "tickets": [{"ticket_id": "T1", "seat_no": 3, "passenger": {"name": "客站"}}]})
    calls = []
    monkeypatch.setattr(protocol, "event_hash_and_payload_text", lambda e: calls.append(e) or ("", ""))
    digest, text = jsonbody.event_hash_and_payload_text(ev)
    assert calls == [] and digest == ev["hash"]
    assert text == canonical_json(ev["payload"])
