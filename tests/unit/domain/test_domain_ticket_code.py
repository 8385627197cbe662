import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.domain.ed25519 import PrivateKey
from app.domain.errors import RuleViolation
from app.domain.ticket_code import TicketCodePayload, decode_ticket_code, doc_tag, encode_ticket_code

KEY = PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = PrivateKey.from_private_bytes(bytes(range(1, 33)))
KEYS = {"st1": KEY.public_key()}
ISSUED = datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)
PAYLOAD = TicketCodePayload(
    "3301020010010000000042",
    "330100001-20261124-K1203",
    12,
    "full",
    doc_tag("0123456789abcdef0123"),
    ISSUED,
)


def code_of(text, keys=KEYS) -> str:
    with pytest.raises(RuleViolation) as info:
        decode_ticket_code(text, keys)
    return info.value.code


def test_round_trip_and_qr_friendly_text():
    code = encode_ticket_code(PAYLOAD, KEY, "st1")
    assert code.startswith("KZ2.st1.")
    assert code.isascii() and len(code) < 300
    assert set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert decode_ticket_code(code, KEYS) == PAYLOAD
    assert decode_ticket_code(code + "\r\n", KEYS) == PAYLOAD  # scanners end with CR/LF


def test_free_child_without_seat_or_document_and_issued_at_kept_to_the_second():
    payload = TicketCodePayload(
        "3301020010010000000043",
        "D1",
        None,
        "free_child",
        "",
        datetime(2026, 11, 24, 9, 2, 3, 999999, tzinfo=timezone(timedelta(hours=8))),
    )
    assert payload.issued_at == ISSUED
    assert decode_ticket_code(encode_ticket_code(payload, KEY, "st1"), KEYS) == payload


def test_tampered_body_is_forged():
    code = encode_ticket_code(PAYLOAD, KEY, "st1")
    prefix, key_id, body, signature = code.split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields[2] = 1  # move to seat 1
    forged = (
        base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    )
    assert code_of(".".join([prefix, key_id, forged, signature])) == "CODE_FORGED"


def test_signed_by_another_key_is_forged_and_unknown_key_is_reported():
    stranger = encode_ticket_code(PAYLOAD, OTHER_KEY, "st1")
    assert code_of(stranger) == "CODE_FORGED"
    assert code_of(encode_ticket_code(PAYLOAD, OTHER_KEY, "st9")) == "CODE_UNKNOWN_KEY"
    # swapping the key id is covered by the signature too
    both = {"st1": KEY.public_key(), "st2": OTHER_KEY.public_key()}
    code = encode_ticket_code(PAYLOAD, KEY, "st1")
    assert code_of(code.replace("KZ2.st1.", "KZ2.st2.", 1), both) == "CODE_FORGED"


def test_messages_tell_the_gate_what_happened():
    with pytest.raises(RuleViolation) as info:
        decode_ticket_code(encode_ticket_code(PAYLOAD, OTHER_KEY, "st1"), KEYS)
    assert "伪造" in info.value.message
    with pytest.raises(RuleViolation) as info:
        decode_ticket_code("hello", KEYS)
    assert "无法识别" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "KZ1",
        "KZ1.st1..",
        "KZ2.st1.e30.AAAA",
        "KZ1.st1.e30.AAAA",
        "KZ1.s t1.e30.AAAA",
        "KZ1.st1.!!!!.AAAA",
        "车票",
        "KZ1.st1.e30." + "A" * 86,
        "x" * 5000,
        None,
        b"KZ1.st1.e30.AAAA",
    ],
)
def test_garbage_is_garbled(text):
    assert code_of(text) == "CODE_GARBLED"


@settings(max_examples=60)
@given(st.integers(0, 400), st.characters(codec="ascii"))
def test_any_single_character_change_is_refused(position, replacement):
    code = encode_ticket_code(PAYLOAD, KEY, "st1")
    position %= len(code)
    changed = code[:position] + replacement + code[position + 1 :]
    assume(changed.strip() != code)  # whitespace at the ends is what scanners add
    with pytest.raises(RuleViolation) as info:
        decode_ticket_code(changed, KEYS)
    assert info.value.code in {"CODE_GARBLED", "CODE_FORGED", "CODE_UNKNOWN_KEY"}


@given(st.text(max_size=400))
def test_random_text_raises_only_rule_violations(text):
    with pytest.raises(RuleViolation):
        decode_ticket_code(text, KEYS)


@given(
    st.lists(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=120),
        min_size=2,
        max_size=3,
    )
)
def test_random_well_shaped_codes_raise_only_rule_violations(parts):
    with pytest.raises(RuleViolation):
        decode_ticket_code(".".join(["KZ1", "st1", *parts]), KEYS)


@given(st.binary(max_size=200))
def test_signed_junk_bodies_raise_only_rule_violations(body):
    body_text = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    signed = f"KZ1.st1.{body_text}"
    signature = base64.urlsafe_b64encode(KEY.sign(signed.encode())).rstrip(b"=").decode()
    with pytest.raises(RuleViolation) as info:
        decode_ticket_code(f"{signed}.{signature}", KEYS)
    assert info.value.code == "CODE_GARBLED"


payloads = st.builds(
    TicketCodePayload,
    ticket_id=st.from_regex(r"\A[0-9]{22}\Z"),
    departure_id=st.from_regex(r"\A[0-9A-Za-z-]{1,40}\Z"),
    seat_no=st.none() | st.integers(1, 999),
    ticket_type=st.sampled_from(["full", "child", "free_child", "student"]),
    doc_tag=st.from_regex(r"\A[0-9a-f]{0,2}\Z"),
    issued_at=st.datetimes(datetime(2020, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
)


@settings(max_examples=40)
@given(payloads)
def test_round_trip_any_payload(payload):
    assert decode_ticket_code(encode_ticket_code(payload, KEY, "st1"), KEYS) == payload


def test_payload_and_key_id_checks():
    with pytest.raises(ValueError):
        encode_ticket_code(PAYLOAD, KEY, "bad key")
    with pytest.raises(ValueError):
        TicketCodePayload("1", "D", 0, "full", "", ISSUED)
    with pytest.raises(ValueError):
        TicketCodePayload("1", "D", 1, "全票", "", ISSUED)
    with pytest.raises(ValueError):
        TicketCodePayload("1", "D", 1, "full", "", datetime(2026, 1, 1))


def test_a_reprint_carries_its_print_number_and_the_original_reads_as_print_zero():
    from dataclasses import replace

    original = encode_ticket_code(PAYLOAD, KEY, "st1")
    second = encode_ticket_code(replace(PAYLOAD, printed=2), KEY, "st1")
    assert decode_ticket_code(original, KEYS).printed == 0
    assert decode_ticket_code(second, KEYS).printed == 2
    # The original's body is the six fields codes always had: old codes read unchanged.
    body = original.split(".")[2]
    assert len(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))) == 6


def test_a_seventh_field_of_zero_or_not_a_number_is_garbled_even_when_signed():
    for extra in (0, -1, "1", True):
        fields = [PAYLOAD.ticket_id, PAYLOAD.departure_id, 12, "full", PAYLOAD.doc_tag,
                  int(ISSUED.timestamp()), extra]
        body = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
        signed = f"KZ1.st1.{body}"
        sig = base64.urlsafe_b64encode(KEY.sign(signed.encode())).rstrip(b"=").decode()
        assert code_of(f"{signed}.{sig}") == "CODE_GARBLED"


def _signed(prefix: str, fields: list) -> str:
    body = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    signed = f"{prefix}.st1.{body}"
    return f"{signed}.{base64.urlsafe_b64encode(KEY.sign(signed.encode())).rstrip(b'=').decode()}"


def test_a_code_carries_the_8_bit_tag_never_the_hash_prefix():
    assert PAYLOAD.doc_tag == "01"
    body = encode_ticket_code(PAYLOAD, KEY, "st1").split(".")[2]
    assert json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))[4] == "01"
    with pytest.raises(ValueError):
        encode_ticket_code(TicketCodePayload("1", "D", 1, "full", "0123456789abcdef", ISSUED), KEY, "st1")


def test_version_1_codes_are_still_read_their_prefix_as_the_tag():
    fields = [PAYLOAD.ticket_id, PAYLOAD.departure_id, 12, "full", "0123456789abcdef", int(ISSUED.timestamp())]
    payload = decode_ticket_code(_signed("KZ1", fields), KEYS)
    assert payload.version == 1 and payload.doc_tag == "01" and payload.seat_no == 12
    # A version-2 body with more than the tag is not a code this terminal wrote.
    assert code_of(_signed("KZ2", fields)) == "CODE_GARBLED"
