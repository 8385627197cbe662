"""Ed25519 keys and signatures (RFC 8032), through libsodium (PyNaCl): the ticket codes' signatures,
the terminals' ticket-code keys, the enrolment's public key.

Keys travel and rest as raw bytes: a private key as its 32-byte seed (RFC 8032's private key; the
terminal store keeps it in base64, ``sync_identity.signing_key``), a public key as its 32 bytes
(``sync.protocol.encode_public_key``). The library was ``cryptography`` before, whose raw private and
public forms are these same 32 bytes; Ed25519 signing is deterministic, so a key stored then signs
the same codes now, and a signature made by either library verifies with the other.

libsodium (rather than ``cryptography``'s Rust and OpenSSL build) because the terminal needs nothing
else from a cryptography library: the frozen terminal is about 10 MB smaller for it.
"""

from __future__ import annotations

import secrets

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

SEED_BYTES = 32
PUBLIC_BYTES = 32
SIGNATURE_BYTES = 64


class InvalidSignature(Exception):
    """The signature does not match the message and the public key."""


class PublicKey:
    """An Ed25519 public key; compares equal to another of the same 32 bytes."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes):
        raw = bytes(raw)
        if len(raw) != PUBLIC_BYTES:
            raise ValueError(f"an Ed25519 public key is {PUBLIC_BYTES} bytes, not {len(raw)}")
        self._raw = raw

    @classmethod
    def from_public_bytes(cls, raw: bytes) -> PublicKey:
        return cls(raw)

    def public_bytes(self) -> bytes:
        return self._raw

    def verify(self, signature: bytes, data: bytes) -> None:
        """Returns when ``signature`` is this key's over ``data``; raises :class:`InvalidSignature` otherwise."""
        if len(signature) != SIGNATURE_BYTES:
            raise InvalidSignature("an Ed25519 signature is 64 bytes")
        try:
            crypto_sign_open(bytes(signature) + bytes(data), self._raw)
        except BadSignatureError:
            raise InvalidSignature("signature does not match") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self._raw.hex()[:16]}...)"


class PrivateKey:
    """An Ed25519 private key (its 32-byte seed) and its public key."""

    __slots__ = ("_public", "_secret", "_seed")

    def __init__(self, seed: bytes):
        seed = bytes(seed)
        if len(seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 private key is a {SEED_BYTES}-byte seed, not {len(seed)} bytes")
        public, self._secret = crypto_sign_seed_keypair(seed)
        self._seed, self._public = seed, PublicKey(public)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(secrets.token_bytes(SEED_BYTES))

    @classmethod
    def from_private_bytes(cls, seed: bytes) -> PrivateKey:
        return cls(seed)

    def private_bytes(self) -> bytes:
        """The 32-byte seed: what is stored, and what :meth:`from_private_bytes` reads back."""
        return self._seed

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The 64-byte signature of ``data``."""
        return crypto_sign(bytes(data), self._secret)[:SIGNATURE_BYTES]

    def __repr__(self) -> str:  # never the seed
        return f"PrivateKey(public={self._public!r})"
