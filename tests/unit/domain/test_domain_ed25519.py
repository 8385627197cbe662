"""Ed25519 through libsodium: RFC 8032's test vectors, refusals, and keys as raw bytes."""

import pytest

from app.domain.ed25519 import InvalidSignature, PrivateKey, PublicKey

# RFC 8032 § 7.1, TEST 1 (empty message) and TEST 2 (one byte).
VECTORS = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), VECTORS)
def test_rfc8032_vectors(seed, public, message, signature):
    key = PrivateKey.from_private_bytes(bytes.fromhex(seed))
    assert key.private_bytes().hex() == seed
    assert key.public_key().public_bytes().hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    PublicKey.from_public_bytes(bytes.fromhex(public)).verify(bytes.fromhex(signature), bytes.fromhex(message))


def test_a_changed_message_signature_or_key_is_refused():
    key = PrivateKey.generate()
    signature = key.sign(b"KZ2.T01.body")
    key.public_key().verify(signature, b"KZ2.T01.body")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"KZ2.T01.bodY")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(bytes([signature[0] ^ 1]) + signature[1:], b"KZ2.T01.body")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature[:63], b"KZ2.T01.body")
    with pytest.raises(InvalidSignature):
        PrivateKey.generate().public_key().verify(signature, b"KZ2.T01.body")


def test_keys_are_their_raw_bytes():
    key = PrivateKey.generate()
    again = PrivateKey.from_private_bytes(key.private_bytes())
    assert again.public_key() == key.public_key()
    assert again.sign(b"x") == key.sign(b"x")  # deterministic: a stored key signs the same
    assert len({key.public_key(), PublicKey(key.public_key().public_bytes())}) == 1
    assert key.private_bytes().hex() not in repr(key)
    with pytest.raises(ValueError):
        PrivateKey.from_private_bytes(b"\x00" * 31)
    with pytest.raises(ValueError):
        PublicKey.from_public_bytes(b"\x00" * 33)
