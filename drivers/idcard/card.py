"""The card's text block (256 bytes UTF-16LE) turned into :class:`CardData`, for all four card types."""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass

from .errors import CardDataError
from .idnumber import mask, valid_number
from .nations import nation_name

TEXT_SIZE = 256
LONG_TERM = "长期"

RESIDENT = "resident"
HMT_RESIDENCE = "hmt_residence"
FOREIGN_2017 = "foreign_permanent_2017"
FOREIGN_2023 = "foreign_permanent_2023"

TYPE_BYTES = {0x20: RESIDENT, 0x00: RESIDENT, ord("J"): HMT_RESIDENCE, ord("I"): FOREIGN_2017, ord("Y"): FOREIGN_2023}
SEXES = {"1": "男", "2": "女"}


@dataclass(repr=False)
class CardData:
    card_type: str
    name: str
    sex: str
    birth_date: str
    id_number: str
    valid_from: str
    valid_to: str
    number_valid: bool
    nation: str = ""
    address: str = ""
    authority: str = ""
    name_en: str = ""
    nationality: str = ""
    sex_code: str = ""
    nation_code: str = ""
    pass_number: str = ""  # HMT: the travel permit (通行证) number
    issue_count: str = ""  # HMT: 签发次数
    renewals: str = ""  # 2023 foreigner card: 换证次数
    card_version: str = ""  # 2017 foreigner card
    authority_code: str = ""  # 2017 foreigner card: 受理机关代码
    photo: bytes = b""  # vendor-encrypted WLT, kept as received
    fingerprint: bytes = b""

    @property
    def masked_number(self) -> str:
        return mask(self.id_number)

    @property
    def is_foreign(self) -> bool:
        return self.card_type in (FOREIGN_2017, FOREIGN_2023)

    def to_json(self, *, include_photo: bool = False) -> dict:
        """A JSON-serialisable dict; the photo/fingerprint only on request, base64-encoded."""
        data = {
            "card_type": self.card_type,
            "name": self.name,
            "sex": self.sex,
            "nation": self.nation,
            "birth_date": self.birth_date,
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "number_valid": self.number_valid,
        }
        if self.is_foreign:
            data["name_en"] = self.name_en
            data["nationality"] = self.nationality
        for key in ("pass_number", "issue_count", "renewals", "card_version", "authority_code"):
            value = getattr(self, key)
            if value:
                data[key] = value
        if include_photo:
            data["photo"] = base64.b64encode(self.photo).decode("ascii")
            data["fingerprint"] = base64.b64encode(self.fingerprint).decode("ascii")
        return data

    def __repr__(self) -> str:
        # Cards end up in tracebacks and debug logs; the number never does in full.
        return f"CardData({self.card_type}, {self.name!r}, {self.masked_number}, photo={len(self.photo)}B)"


def _field(text: bytes, offset: int, size: int) -> str:
    try:
        value = text[offset : offset + size].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CardDataError("证件信息无法识别，请重新放置证件", en=f"text field at {offset} is not UTF-16LE") from exc
    return value.replace("\x00", " ").strip()


def _raw(text: bytes, offset: int, size: int) -> str:
    try:
        return text[offset : offset + size].decode("utf-16-le").replace("\x00", " ")
    except UnicodeDecodeError as exc:
        raise CardDataError("证件信息无法识别，请重新放置证件", en=f"text field at {offset} is not UTF-16LE") from exc


def _date(value: str, what: str, *, long_term: bool = False) -> str:
    if long_term and value == LONG_TERM:
        return LONG_TERM
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return _dt.date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError as exc:
        raise CardDataError(
            "证件上的日期无法识别，请重新放置证件", en=f"the {what} field is not a YYYYMMDD date"
        ) from exc


def card_type_of(text: bytes) -> str:
    if len(text) < TEXT_SIZE:
        raise CardDataError("证件信息不完整，请重新放置证件", en=f"text block has {len(text)} bytes, expected 256")
    kind = TYPE_BYTES.get(text[248])
    if kind is None:
        raise CardDataError("无法识别的证件类型", en=f"unknown card type byte {text[248]:#04x}", code="unknown_card_type")
    return kind


def parse_text(text: bytes, photo: bytes = b"", fingerprint: bytes = b"", *, today: _dt.date | None = None) -> CardData:
    kind = card_type_of(text)
    if kind == FOREIGN_2017:
        sex_code = _field(text, 120, 2)
        number = _field(text, 122, 30)
        nationality = _field(text, 152, 6)
        birth = _date(_field(text, 220, 16), "birth date")
        return CardData(
            card_type=kind,
            name=_field(text, 158, 30),
            name_en=_field(text, 0, 120),
            sex=SEXES.get(sex_code, "未知"),
            sex_code=sex_code,
            birth_date=birth,
            id_number=number,
            nationality=nationality,
            valid_from=_date(_field(text, 188, 16), "valid-from"),
            valid_to=_date(_field(text, 204, 16), "valid-to", long_term=True),
            card_version=_field(text, 236, 4),
            authority_code=_field(text, 240, 8),
            authority=_field(text, 240, 8),
            number_valid=_valid_2017(number, nationality, birth),
            photo=photo,
            fingerprint=fingerprint,
        )
    if kind == FOREIGN_2023:
        sex_code = _field(text, 30, 2)
        number = _field(text, 122, 36)
        return CardData(
            card_type=kind,
            name=_field(text, 0, 30),
            name_en=(_raw(text, 52, 70) + _raw(text, 220, 22)).strip(),
            sex=SEXES.get(sex_code, "未知"),
            sex_code=sex_code,
            renewals=_field(text, 32, 4),
            birth_date=_date(_field(text, 36, 16), "birth date"),
            id_number=number,
            authority=_field(text, 158, 30),
            valid_from=_date(_field(text, 188, 16), "valid-from"),
            valid_to=_date(_field(text, 204, 16), "valid-to", long_term=True),
            nationality=_field(text, 242, 6),
            number_valid=valid_number(number, sex_code=sex_code, foreign=True, today=today),
            photo=photo,
            fingerprint=fingerprint,
        )
    sex_code = _field(text, 30, 2)
    nation_code = _field(text, 32, 4)
    number = _field(text, 122, 36)
    number_valid = valid_number(number, sex_code=sex_code, today=today)
    if kind == HMT_RESIDENCE:
        number_valid = number_valid and number[:2] in ("81", "82", "83")
    return CardData(
        card_type=kind,
        name=_field(text, 0, 30),
        sex=SEXES.get(sex_code, "未知"),
        sex_code=sex_code,
        nation=nation_name(nation_code),
        nation_code=nation_code,
        birth_date=_date(_field(text, 36, 16), "birth date"),
        address=_field(text, 52, 70),
        id_number=number,
        authority=_field(text, 158, 30),
        valid_from=_date(_field(text, 188, 16), "valid-from"),
        valid_to=_date(_field(text, 204, 16), "valid-to", long_term=True),
        pass_number=_field(text, 220, 18) if kind == HMT_RESIDENCE else "",
        issue_count=_field(text, 238, 4) if kind == HMT_RESIDENCE else "",
        number_valid=number_valid,
        photo=photo,
        fingerprint=fingerprint,
    )


def _valid_2017(number: str, nationality: str, birth_iso: str) -> bool:
    # The 15-character number: nationality (3 letters), region (2 digits), birth date YYMMDD,
    # serial and check digits. No public check-digit algorithm: verify the parts that must agree
    # with the rest of the card.
    if len(number) != 15 or not number[:3].isalpha() or not number[:3].isupper() or not number[3:].isdigit():
        return False
    if nationality and number[:3] != nationality:
        return False
    return number[5:11] == birth_iso[2:4] + birth_iso[5:7] + birth_iso[8:10]


def parse_read_response(data: bytes, *, with_fingerprint: bool = False) -> CardData:
    """The data part (after SW1-3) of a 30 01 / 30 10 reply."""
    lengths = 6 if with_fingerprint else 4
    if len(data) < lengths:
        raise CardDataError("证件信息不完整，请重新放置证件", en="read reply too short for its length fields")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    finger_len = int.from_bytes(data[4:6], "big") if with_fingerprint else 0
    if len(data) != lengths + text_len + photo_len + finger_len:
        raise CardDataError(
            "证件信息不完整，请重新放置证件",
            en=f"read reply holds {len(data)} bytes, its lengths announce {lengths + text_len + photo_len + finger_len}",
        )
    if text_len < TEXT_SIZE:
        raise CardDataError("证件信息不完整，请重新放置证件", en=f"text block of {text_len} bytes, expected 256")
    text = data[lengths : lengths + text_len]
    photo = data[lengths + text_len : lengths + text_len + photo_len]
    fingerprint = data[lengths + text_len + photo_len :]
    return parse_text(bytes(text[:TEXT_SIZE]), bytes(photo), bytes(fingerprint))
