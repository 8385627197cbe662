"""Signed ticket codes (the QR on a ticket), verifiable offline at the gate.

Text form, ASCII and QR-friendly::

    KZ2.<key_id>.<base64url(body)>.<base64url(Ed25519 signature)>

The body is compact JSON ``[ticket_id, departure_id, seat_no, ticket_type, doc_tag,
issued_at_epoch]``, followed by the print number when the paper is a reprint (``printed``: 1 for
the first reprint, 2 for the second...). The original paper's code has six fields, as every code
made before reprints were counted, so old codes read as print 0; the gate refuses a paper whose
print number is below the ticket's (the old paper of a reprinted ticket). The signature covers everything before the last dot, so the version and the
key id cannot be swapped either.

``doc_tag`` is the passenger's 8-bit document tag (``app.domain.identity.document_tag``), two hex
characters that many numbers share, so the code never narrows a masked number down to one.
Version 1 (``KZ1``) carried the first 64 bits of the document hash instead, which did; those codes
are still read (their tag is the prefix's first two characters) but never written. Decoding anything at all raises only :class:`RuleViolation`:
a gate scanner feeds this whatever it reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ._time import require_aware
from .ed25519 import InvalidSignature, PrivateKey, PublicKey
from .errors import RuleViolation

PREFIX = "KZ2"
#: Every version a gate reads: version 1 codes stay valid until their tickets have left the presale.
PREFIXES = ("KZ1", PREFIX)
TAG_LEN = 2
MAX_CODE_LENGTH = 1024
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_B64 = re.compile(r"^[A-Za-z0-9_-]*\Z")
_FIELD = re.compile(r"^[\x21-\x7e]{0,64}\Z")


@dataclass(frozen=True, slots=True)
class TicketCodePayload:
    """What the gate learns from a code. ``issued_at`` is kept to the second, in UTC;
    ``seat_no`` is None for a free child; ``doc_tag`` is the passenger's document tag ("" when the
    ticket names no document; a version-1 code's 64-bit hash prefix reads as its first two characters).
    ``version`` is the format the code was read in (codes are written only in the newest)."""

    ticket_id: str
    departure_id: str
    seat_no: int | None
    ticket_type: str
    doc_tag: str
    issued_at: datetime
    printed: int = 0  # which print of the ticket this paper is: 0 the original, n the n-th reprint
    version: int = 2

    def __post_init__(self):
        at = self.issued_at
        # A code's own instant (UTC, whole seconds) is kept as it is: every scan reads one.
        if type(at) is not datetime or at.tzinfo is not UTC or at.microsecond:
            require_aware(issued_at=at)
            object.__setattr__(self, "issued_at", at.astimezone(UTC).replace(microsecond=0))
        for name in ("ticket_id", "departure_id", "ticket_type", "doc_tag"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _FIELD.match(value):
                raise ValueError(f"{name} must be up to 64 printable ASCII characters: {value!r}")
        if self.seat_no is not None and (
            isinstance(self.seat_no, bool) or not isinstance(self.seat_no, int) or not 0 < self.seat_no < 1000
        ):
            raise ValueError(f"seat_no must be 1-999 or None: {self.seat_no!r}")
        if isinstance(self.printed, bool) or not isinstance(self.printed, int) or not 0 <= self.printed < 1000:
            raise ValueError(f"printed must be 0-999: {self.printed!r}")


def doc_tag(doc_hash_or_tag: str | None) -> str:
    """The tag a code carries, from a full document hash or from a tag."""
    return (doc_hash_or_tag or "")[:TAG_LEN]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The bits of its last character a text of each length % 4 leaves unused (none when it ends a quantum).
_B64_UNUSED = {0: 0, 2: 0b1111, 3: 0b11}
_B64_VALUE = {c: i for i, c in enumerate(_B64_ALPHABET)}
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _b64decode(text: str) -> bytes:
    rest = len(text) % 4
    if rest == 1 or not _B64.match(text):
        raise ValueError("not base64url")
    # Unused trailing bits would let two texts carry one value; only the canonical text is valid
    # (the text encoding the bytes gives back), which is the text whose unused bits are all zero.
    if text and _B64_VALUE[text[-1]] & _B64_UNUSED[rest]:
        raise ValueError("non-canonical base64url")
    return binascii.a2b_base64((text + "=" * (-rest % 4)).encode("ascii").translate(_URLSAFE_TO_STANDARD))


def encode_ticket_code(payload: TicketCodePayload, private_key: PrivateKey, key_id: str) -> str:
    """Sign ``payload`` with the station's key; ``key_id`` names the matching public key."""
    if not _KEY_ID.match(key_id):
        raise ValueError(f"key id must be 1-32 of A-Z a-z 0-9 _ -: {key_id!r}")
    if len(payload.doc_tag) > TAG_LEN:
        raise ValueError(f"a code carries the {TAG_LEN}-character document tag, never more of the hash")
    fields = [
        payload.ticket_id,
        payload.departure_id,
        payload.seat_no,
        payload.ticket_type,
        payload.doc_tag,
        int(payload.issued_at.timestamp()),
    ]
    if payload.printed:
        fields.append(payload.printed)
    body = json.dumps(
        fields,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")
    signed = f"{PREFIX}.{key_id}.{_b64encode(body)}"
    return f"{signed}.{_b64encode(private_key.sign(signed.encode('ascii')))}"


def _garbled(reason: str) -> RuleViolation:
    return RuleViolation(
        "无法识别的票码，请重新扫描或核对证件",
        en="Unreadable ticket code; scan again or check the ID",
        code="CODE_GARBLED",
        reason=reason,
    )


def decode_ticket_code(text: str, public_keys: Mapping[str, PublicKey]) -> TicketCodePayload:
    """Verify and read a scanned code. Refusals: ``CODE_GARBLED`` (not a ticket code),
    ``CODE_UNKNOWN_KEY`` (signed by a key this gate does not know), ``CODE_FORGED`` (the
    signature does not match: altered or counterfeit)."""
    if not isinstance(text, str):
        raise _garbled("not text")
    text = text.strip()  # scanners end a read with CR/LF
    if len(text) > MAX_CODE_LENGTH or not text.isascii():
        raise _garbled("length or characters")
    parts = text.split(".")
    if len(parts) != 4 or parts[0] not in PREFIXES:
        raise _garbled("shape")
    prefix, key_id, body_text, signature_text = parts
    if not _KEY_ID.match(key_id):
        raise _garbled("key id")
    try:
        body = _b64decode(body_text)
        signature = _b64decode(signature_text)
    except (ValueError, binascii.Error):
        raise _garbled("base64") from None
    if len(signature) != 64:
        raise _garbled("signature length")
    # Parse before verifying so that a misread code reads as garbled, not as a forgery.
    payload = _parse_body(body, 1 if prefix == "KZ1" else 2)
    key = public_keys.get(key_id)
    if key is None:
        raise RuleViolation(
            f"票码由未知密钥（{key_id}）签发，请更新本机密钥或人工核验",
            en=f"Ticket code signed by an unknown key ({key_id}); update keys or check by hand",
            code="CODE_UNKNOWN_KEY",
            key_id=key_id,
        )
    try:
        key.verify(signature, f"{prefix}.{key_id}.{body_text}".encode("ascii"))
    except InvalidSignature:
        raise RuleViolation(
            "票码签名无效：疑似伪造或被篡改的车票",
            en="Ticket code signature is invalid: forged or altered",
            code="CODE_FORGED",
            key_id=key_id,
        ) from None
    return payload


def _parse_body(body: bytes, version: int) -> TicketCodePayload:
    try:
        fields = json.loads(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _garbled("body") from None
    if not isinstance(fields, list) or len(fields) not in (6, 7):
        raise _garbled("body shape")
    ticket_id, departure_id, seat_no, ticket_type, doc_prefix, issued = fields[:6]
    printed = fields[6] if len(fields) == 7 else 0
    # A seventh field of 0 would give the original paper a second valid text.
    if len(fields) == 7 and (isinstance(printed, bool) or not isinstance(printed, int) or printed < 1):
        raise _garbled("printed")
    if not isinstance(issued, int) or isinstance(issued, bool) or not 0 <= issued < 2**40:
        raise _garbled("issued_at")
    if version == 2 and isinstance(doc_prefix, str) and len(doc_prefix) > TAG_LEN:
        raise _garbled("doc_tag")
    if version == 1 and isinstance(doc_prefix, str) and _FIELD.match(doc_prefix):
        doc_prefix = doc_prefix[:TAG_LEN]  # the 64-bit prefix is read as the tag it begins with
    try:
        return TicketCodePayload(
            ticket_id, departure_id, seat_no, ticket_type, doc_prefix, datetime.fromtimestamp(issued, UTC), printed,
            version,
        )
    except (ValueError, TypeError, OverflowError):
        raise _garbled("fields") from None
