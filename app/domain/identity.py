"""Identity documents for real-name tickets (实名制): types, number checks, masking, keyed hash.

18-digit numbers (resident ID, temporary ID, household register, HK/Macau/Taiwan residence
permit, 2023 foreigner card) follow GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check
character, a real past birth date in digits 7–14, the sex in digit 17 and a province prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .errors import RuleViolation


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    TEMPORARY_ID = "temporary_id"
    PASSPORT = "passport"
    FOREIGNER_2017 = "foreigner_2017"
    FOREIGNER_2023 = "foreigner_2023"
    HMT_RESIDENCE = "hmt_residence"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    HOUSEHOLD_REGISTER = "household_register"
    MILITARY_OFFICER = "military_officer"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS = {
    DocumentType.RESIDENT_ID: ("居民身份证", "Resident ID card"),
    DocumentType.TEMPORARY_ID: ("临时身份证", "Temporary resident ID card"),
    DocumentType.PASSPORT: ("护照", "Passport"),
    DocumentType.FOREIGNER_2017: (
        "外国人永久居留身份证（2017版）",
        "Foreigner permanent residence card (2017)",
    ),
    DocumentType.FOREIGNER_2023: (
        "外国人永久居留身份证（2023版）",
        "Foreigner permanent residence card (2023)",
    ),
    DocumentType.HMT_RESIDENCE: ("港澳台居民居住证", "HK/Macau/Taiwan resident residence permit"),
    DocumentType.HK_MACAU_PERMIT: ("港澳居民来往内地通行证", "Mainland travel permit for HK/Macau residents"),
    DocumentType.TAIWAN_PERMIT: ("台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents"),
    DocumentType.HOUSEHOLD_REGISTER: ("户口簿", "Household register (minors)"),
    DocumentType.MILITARY_OFFICER: ("军官证", "Military officer ID"),
    DocumentType.OTHER: ("其他证件", "Other document"),
}

#: Document types whose number is a GB 11643 18-digit number.
GB11643_TYPES = frozenset(
    {
        DocumentType.RESIDENT_ID,
        DocumentType.TEMPORARY_ID,
        DocumentType.HOUSEHOLD_REGISTER,
        DocumentType.HMT_RESIDENCE,
        DocumentType.FOREIGNER_2023,
    }
)

#: GB/T 2260 province-level prefixes (71 Taiwan, 81 Hong Kong, 82 Macau, 83 for Taiwan residents'
#: residence permits).
PROVINCE_CODES = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)
HMT_CODES = frozenset({"81", "82", "83"})
FOREIGNER_PREFIX = "9"


@dataclass(frozen=True, slots=True)
class IdInfo:
    number: str
    birth_date: date
    sex: str  # "M" or "F"
    province_code: str  # two digits; for a 2023 foreigner card the issuing province after the 9

    @property
    def is_foreigner(self) -> bool:
        return self.number.startswith(FOREIGNER_PREFIX)

    def age_on(self, day: date) -> int:
        """Completed years on ``day``."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def check_char(first17: str) -> str:
    """The GB 11643 check character of 17 digits: ISO 7064 MOD 11-2, "0"-"9" or "X"."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    # Imported here: python-stdnum's package loads pydoc and ssl (~25 ms), which the window's
    # start-up does not need before the first number is typed.
    from stdnum.iso7064 import mod_11_2

    return mod_11_2.calc_check_digit(first17)


def _clean(number: str) -> str:
    # NFKC folds full-width digits and letters typed through a Chinese IME into ASCII.
    text = unicodedata.normalize("NFKC", number)
    return re.sub(r"[\s\-]", "", text).upper()


def _violation(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


def validate_resident_id(number: str, today: date, *, allow_foreigner: bool = True) -> IdInfo:
    """Validate an 18-digit GB 11643 number; return what it encodes.

    A lower-case x is accepted and normalised to X. Refusals: ``ID_LENGTH``, ``ID_FORMAT``,
    ``ID_PROVINCE``, ``ID_BIRTH_DATE``, ``ID_CHECK_DIGIT``.
    """
    if not isinstance(number, str):
        raise _violation("ID_FORMAT", "证件号码不是文本", "The document number is not text")
    cleaned = _clean(number)
    if len(cleaned) != 18:
        raise _violation(
            "ID_LENGTH",
            f"身份证号码应为 18 位，输入了 {len(cleaned)} 位",
            f"An ID number has 18 characters, this one has {len(cleaned)}",
            length=len(cleaned),
        )
    if not (cleaned[:17].isascii() and cleaned[:17].isdigit() and cleaned[17] in "0123456789X"):
        raise _violation(
            "ID_FORMAT",
            "身份证号码应为 17 位数字加 1 位数字或 X",
            "An ID number is 17 digits and a final digit or X",
        )
    if cleaned.startswith(FOREIGNER_PREFIX):
        province = cleaned[1:3]
        if not allow_foreigner or province not in PROVINCE_CODES:
            raise _violation(
                "ID_PROVINCE", "身份证号码的地区代码不存在", "The ID number's region code does not exist"
            )
    else:
        province = cleaned[:2]
        if province not in PROVINCE_CODES:
            raise _violation(
                "ID_PROVINCE",
                f"身份证号码的省份代码 {province} 不存在",
                f"The ID number's province code {province} does not exist",
            )
    try:
        birth = date(int(cleaned[6:10]), int(cleaned[10:12]), int(cleaned[12:14]))
    except ValueError:
        raise _violation(
            "ID_BIRTH_DATE", "身份证号码中的出生日期不存在", "The ID number's birth date does not exist"
        ) from None
    if birth > today or birth.year < 1880:
        raise _violation(
            "ID_BIRTH_DATE", "身份证号码中的出生日期不合理", "The ID number's birth date is impossible"
        )
    if check_char(cleaned[:17]) != cleaned[17]:
        raise _violation(
            "ID_CHECK_DIGIT",
            "身份证号码校验位错误，请核对号码",
            "The ID number's check character is wrong; check the number",
        )
    sex = "M" if int(cleaned[16]) % 2 else "F"
    return IdInfo(cleaned, birth, sex, province)


_FOREIGNER_2017 = re.compile(r"^[A-Z]{3}[0-9]{12}\Z")


def validate_foreigner_2017(number: str, today: date) -> str:
    """A 2017 foreigner permanent residence card number: 15 characters, the holder's ISO 3166
    alpha-3 nationality, then 12 digits: the 4-digit accepting region (province prefix first),
    the birth date as YYMMDD and 2 more digits.

    The last character is said to be a check digit, but its algorithm is not published; a wrong
    refusal stops a real passenger, so it is not checked.
    """
    cleaned = _clean(number) if isinstance(number, str) else ""
    if len(cleaned) != 15:
        raise _violation(
            "ID_LENGTH",
            f"2017版永久居留身份证号码应为 15 位，输入了 {len(cleaned)} 位",
            f"A 2017 permanent residence card number has 15 characters, this one has {len(cleaned)}",
            length=len(cleaned),
        )
    if not _FOREIGNER_2017.match(cleaned):
        raise _violation(
            "ID_FORMAT",
            "2017版永久居留身份证号码应为 3 位字母（国籍）加 12 位数字",
            "A 2017 permanent residence card number is 3 letters (nationality) and 12 digits",
        )
    if cleaned[3:5] not in PROVINCE_CODES:
        raise _violation(
            "ID_PROVINCE",
            "永久居留身份证号码的受理地代码不存在",
            "The card number's region code does not exist",
        )
    yy, mm, dd = int(cleaned[7:9]), int(cleaned[9:11]), int(cleaned[11:13])
    if not any(_past_date(century + yy, mm, dd, today) for century in (1900, 2000)):
        raise _violation(
            "ID_BIRTH_DATE",
            "永久居留身份证号码中的出生日期不存在",
            "The card number's birth date does not exist",
        )
    return cleaned


def _past_date(year: int, month: int, day: int, today: date) -> bool:
    try:
        return date(year, month, day) <= today
    except ValueError:
        return False


_FORMATS: dict[DocumentType, tuple[re.Pattern, str, str]] = {
    # Chinese passports are a letter and 8 digits (E12345678) or two letters and 7 digits;
    # foreign passports vary, so any 5-17 letters and digits.
    DocumentType.PASSPORT: (
        re.compile(r"^[A-Z0-9]{5,17}\Z"),
        "护照号码应为 5–17 位字母或数字",
        "A passport number is 5-17 letters or digits",
    ),
    # Current cards: H or M and 8 digits; older booklets added 2 digits (issue count).
    DocumentType.HK_MACAU_PERMIT: (
        re.compile(r"^[HM][0-9]{8}([0-9]{2})?\Z"),
        "港澳通行证号码应为 H 或 M 加 8 位（或 10 位）数字",
        "An HK/Macau permit number is H or M and 8 (or 10) digits",
    ),
    # Current cards: 8 digits; older booklets: 10 digits, sometimes with a letter suffix.
    DocumentType.TAIWAN_PERMIT: (
        re.compile(r"^([0-9]{8}|[0-9]{10}[A-Z]?)\Z"),
        "台胞证号码应为 8 位或 10 位数字",
        "A Taiwan permit number is 8 or 10 digits",
    ),
    DocumentType.MILITARY_OFFICER: (
        re.compile(r"^[\w\u4e00-\u9fff]{4,20}\Z"),
        "军官证号码应为 4–20 位汉字、字母或数字",
        "A military ID number is 4-20 characters",
    ),
    DocumentType.OTHER: (
        re.compile(r"^[\w\u4e00-\u9fff()]{2,30}\Z"),
        "证件号码应为 2–30 位汉字、字母或数字",
        "A document number is 2-30 characters",
    ),
}


def normalise_number(doc_type: DocumentType | str, number: str) -> str:
    """The canonical form of a number without judging it: NFKC, no spaces or hyphens,
    upper case, and (Taiwan permits) no parentheses around the suffix letter."""
    doc_type = DocumentType(doc_type)
    cleaned = _clean(number)
    if doc_type is DocumentType.TAIWAN_PERMIT:
        cleaned = cleaned.replace("(", "").replace(")", "")
    return cleaned


def validate_document(doc_type: DocumentType | str, number: str, today: date) -> str:
    """Validate a document number for its type; return the normalised number.

    Refusals: the ``ID_*`` codes for 18-digit numbers and 2017 foreigner cards, ``DOC_FORMAT``
    for the other types, ``ID_PROVINCE`` for an 18-digit number that belongs to another type
    (a 9-number on a resident ID, an 81-number outside the residence permit).
    """
    try:
        doc_type = DocumentType(doc_type)
    except ValueError:
        raise _violation(
            "DOC_TYPE", f"未知证件类型：{doc_type}", f"Unknown document type: {doc_type}"
        ) from None
    if not isinstance(number, str) or not _clean(number):
        raise _violation("DOC_FORMAT", "请填写证件号码", "Enter the document number")
    if doc_type in GB11643_TYPES:
        info = validate_resident_id(number, today)
        prefix = info.number[:2]
        if doc_type is DocumentType.FOREIGNER_2023:
            if not info.is_foreigner:
                raise _violation(
                    "ID_PROVINCE",
                    "2023版永久居留身份证号码应以 9 开头",
                    "A 2023 permanent residence card number starts with 9",
                )
        elif info.is_foreigner:
            raise _violation(
                "ID_PROVINCE",
                "以 9 开头的是外国人永久居留身份证号码，请选择该证件类型",
                "A number starting with 9 is a foreigner's permanent residence card; choose that type",
            )
        elif doc_type is DocumentType.HMT_RESIDENCE and prefix not in HMT_CODES:
            raise _violation(
                "ID_PROVINCE",
                "港澳台居民居住证号码应以 81、82 或 83 开头",
                "An HK/Macau/Taiwan residence permit number starts with 81, 82 or 83",
            )
        elif doc_type is not DocumentType.HMT_RESIDENCE and prefix in HMT_CODES:
            raise _violation(
                "ID_PROVINCE",
                "以 81/82/83 开头的是港澳台居民居住证号码，请选择该证件类型",
                "A number starting with 81/82/83 is a residence permit; choose that type",
            )
        return info.number
    if doc_type is DocumentType.FOREIGNER_2017:
        return validate_foreigner_2017(number, today)
    cleaned = normalise_number(doc_type, number)
    pattern, zh, en = _FORMATS[doc_type]
    if not pattern.match(cleaned):
        raise _violation("DOC_FORMAT", zh, en, doc_type=doc_type.value)
    return cleaned


#: How many characters a mask leaves visible: an 18-character number its last four (the sequence
#: digits and the check character; the region and the birth date stay hidden), any other its last
#: three. Shorter numbers show less, so that most of them stays hidden.
MASK_TAIL_18 = 4
MASK_TAIL = 3


def mask(number: str) -> str:
    """The one mask of a document number on paper, in lists, the feed, exports and logs:
    ``**************0011`` for an 18-character number, ``******678`` for a passport.

    With the region and the birth date hidden, a mask and the 8-bit tag beside it
    (:func:`document_tag`) fit tens of thousands of valid numbers (docs/protocol.md § Passenger data).
    """
    if not number:
        return ""
    n = len(number)
    if n == 18:
        tail = MASK_TAIL_18
    elif n >= 6:
        tail = MASK_TAIL
    elif n >= 4:
        tail = 1
    else:
        tail = 0
    return "*" * (n - tail) + number[n - tail :]


def _hash_family(doc_type: DocumentType) -> str:
    # The same 18-digit number may be presented as a temporary ID, a household register or the
    # card itself; one family makes "one document per departure" and the gate lookup see one person.
    return "gb11643" if doc_type in GB11643_TYPES else doc_type.value


def document_hash(key: bytes, doc_type: DocumentType | str, number: str) -> str:
    """HMAC-SHA256 (hex) of the normalised number, so lookups need no stored number."""
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("the document hash key must be at least 16 bytes")
    doc_type = DocumentType(doc_type)
    message = f"{_hash_family(doc_type)}:{normalise_number(doc_type, number)}".encode()
    return hmac.new(bytes(key), message, hashlib.sha256).hexdigest()


#: Hex characters of a document tag: 8 bits, 256 values.
TAG_LEN = 2


def document_tag(key: bytes, doc_type: DocumentType | str, number: str) -> str:
    """The first 8 bits of :func:`document_hash`, two hex characters: what leaves a terminal (the feed,
    the ticket code, exports) beside the mask. It collides on purpose: one tag in 256 fits, so
    together with the mask it names many valid numbers and never one; with the name and the
    visible characters it still tells the passengers of one bus apart."""
    return document_hash(key, doc_type, number)[:TAG_LEN]


def tag_of_hash(doc_hash: str | None) -> str:
    """The tag of a full document hash (or of a version-1 ticket code's 64-bit prefix)."""
    return (doc_hash or "")[:TAG_LEN]


@dataclass(frozen=True, slots=True)
class DocumentIdentity:
    """What a terminal looks a passenger's tickets up by, made from the full number (typed, or read
    from a card) and never keeping it: the full hash finds this terminal's own sales; the tag, the
    mask and the name find a ticket from the feed, which carries nothing more."""

    doc_hash: str
    doc_tag: str
    doc_masked: str
    name: str = ""

    @classmethod
    def of(cls, key: bytes, doc_type: DocumentType | str, number: str, name: str | None = "") -> DocumentIdentity:
        doc_type = DocumentType(doc_type)
        full = document_hash(key, doc_type, number)
        return cls(full, full[:TAG_LEN], mask(normalise_number(doc_type, number)), (name or "").strip())
