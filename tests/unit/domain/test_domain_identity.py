import hmac
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.errors import RuleViolation
from app.domain.identity import (
    PROVINCE_CODES,
    DocumentType,
    IdInfo,
    check_char,
    document_hash,
    document_tag,
    mask,
    normalise_number,
    tag_of_hash,
    validate_document,
    validate_foreigner_2017,
    validate_resident_id,
)

TODAY = date(2026, 11, 24)
KEY = b"k" * 32


def code_of(call, *args) -> str:
    with pytest.raises(RuleViolation) as info:
        call(*args)
    return info.value.code


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("110101199003070011", date(1990, 3, 7), "M"),
        ("110101199512310028", date(1995, 12, 31), "F"),
        ("11010119920615002X", date(1992, 6, 15), "F"),
    ],
)
def test_known_valid_numbers(number, birth, sex):
    info = validate_resident_id(number, TODAY)
    assert info == IdInfo(number, birth, sex, "11")


def test_lower_case_x_full_width_and_spaces_are_normalised():
    assert validate_resident_id("11010119920615002x", TODAY).number == "11010119920615002X"
    assert validate_resident_id(" 110101 19900307 0011 ", TODAY).number == "110101199003070011"
    assert validate_resident_id("１１０１０１１９９００３０７００１１", TODAY).number == "110101199003070011"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010119900307001", "ID_LENGTH"),
        ("1101011990030700111", "ID_LENGTH"),
        ("110101900307001", "ID_LENGTH"),  # a first-generation 15-digit number is no longer valid
        ("", "ID_LENGTH"),
        ("1101011990030700A1", "ID_FORMAT"),
        ("11010119900307001Y", "ID_FORMAT"),
        ("110101199003070012", "ID_CHECK_DIGIT"),
        ("110101199003070010", "ID_CHECK_DIGIT"),
        ("110101199002300011", "ID_BIRTH_DATE"),  # 30 February
        ("110101199013070011", "ID_BIRTH_DATE"),
        ("110101203001010011", "ID_BIRTH_DATE"),  # in the future
        ("100101199003070011", "ID_PROVINCE"),
        ("990101199003070011", "ID_PROVINCE"),
        ("160101199003070011", "ID_PROVINCE"),
    ],
)
def test_invalid_numbers_are_refused_with_their_reason(number, code):
    assert code_of(validate_resident_id, number, TODAY) == code


def test_error_messages_are_clear_chinese():
    with pytest.raises(RuleViolation) as info:
        validate_resident_id("110101199003070012", TODAY)
    assert "校验位" in info.value.message and "check" in info.value.en
    with pytest.raises(RuleViolation) as info:
        validate_resident_id("1101011990", TODAY)
    assert "18 位" in info.value.message and "10" in info.value.message


def test_born_today_is_valid_tomorrow_is_not():
    today17 = "110101" + TODAY.strftime("%Y%m%d") + "001"
    assert validate_resident_id(today17 + check_char(today17), TODAY).birth_date == TODAY
    tomorrow17 = "110101" + (TODAY + timedelta(days=1)).strftime("%Y%m%d") + "001"
    assert code_of(validate_resident_id, tomorrow17 + check_char(tomorrow17), TODAY) == "ID_BIRTH_DATE"


def test_age_on():
    info = validate_resident_id("110101199003070011", TODAY)
    assert info.age_on(date(2026, 3, 6)) == 35
    assert info.age_on(date(2026, 3, 7)) == 36


PROVINCES = sorted(PROVINCE_CODES)


@st.composite
def valid_numbers(draw, provinces=PROVINCES):
    province = draw(st.sampled_from(provinces))
    rest = draw(st.text("0123456789", min_size=4, max_size=4))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = province + rest + birth.strftime("%Y%m%d") + seq
    return first17 + check_char(first17)


@given(valid_numbers())
def test_generated_numbers_validate_and_decode(number):
    info = validate_resident_id(number, TODAY)
    assert info.number == number
    assert info.birth_date.strftime("%Y%m%d") == number[6:14]
    assert info.sex == ("M" if int(number[16]) % 2 else "F")


@given(valid_numbers(), st.integers(0, 17), st.integers(1, 10))
def test_any_single_character_change_fails(number, position, shift):
    alphabet = "0123456789X" if position == 17 else "0123456789"
    old = number[position]
    new = alphabet[(alphabet.index(old) + shift) % len(alphabet)]
    assume(new != old)
    changed = number[:position] + new + number[position + 1 :]
    with pytest.raises(RuleViolation):
        validate_resident_id(changed, TODAY)


@given(valid_numbers(), st.integers(0, 16))
def test_swapping_two_different_adjacent_digits_fails(number, position):
    a, b = number[position], number[position + 1]
    assume(a != b and b != "X")
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(RuleViolation):
        validate_resident_id(swapped, TODAY)


def _with_check(first17: str) -> str:
    return first17 + check_char(first17)


def test_2023_foreigner_card_numbers():
    number = _with_check("93115619900101001")  # 9, Shanghai, nationality 156... any digits
    assert validate_document(DocumentType.FOREIGNER_2023, number, TODAY) == number
    assert validate_resident_id(number, TODAY).province_code == "31"
    assert code_of(validate_document, DocumentType.RESIDENT_ID, number, TODAY) == "ID_PROVINCE"
    assert (
        code_of(validate_document, DocumentType.FOREIGNER_2023, "110101199003070011", TODAY) == "ID_PROVINCE"
    )
    assert (
        code_of(validate_document, DocumentType.FOREIGNER_2023, _with_check("90015619900101001"), TODAY)
        == "ID_PROVINCE"
    )


def test_residence_permit_numbers_start_81_to_83():
    hk = _with_check("81000019900101001")
    assert validate_document(DocumentType.HMT_RESIDENCE, hk, TODAY) == hk
    assert code_of(validate_document, DocumentType.RESIDENT_ID, hk, TODAY) == "ID_PROVINCE"
    assert (
        code_of(validate_document, DocumentType.HMT_RESIDENCE, "110101199003070011", TODAY) == "ID_PROVINCE"
    )


@pytest.mark.parametrize(
    "doc_type", [DocumentType.RESIDENT_ID, DocumentType.TEMPORARY_ID, DocumentType.HOUSEHOLD_REGISTER]
)
def test_eighteen_digit_documents_use_gb11643(doc_type):
    assert validate_document(doc_type, "11010119920615002x", TODAY) == "11010119920615002X"
    assert code_of(validate_document, doc_type, "110101199003070012", TODAY) == "ID_CHECK_DIGIT"


def test_2017_foreigner_card_number():
    assert validate_foreigner_2017("usa310085012345", TODAY) == "USA310085012345"
    assert validate_document("foreigner_2017", "GBR 1100 050601 01", TODAY) == "GBR110005060101"
    assert code_of(validate_foreigner_2017, "USA31008501234", TODAY) == "ID_LENGTH"
    assert code_of(validate_foreigner_2017, "US1310085012345", TODAY) == "ID_FORMAT"
    assert code_of(validate_foreigner_2017, "USA31008501234X", TODAY) == "ID_FORMAT"
    assert code_of(validate_foreigner_2017, "USA990085012345", TODAY) == "ID_PROVINCE"
    assert code_of(validate_foreigner_2017, "USA310085133145", TODAY) == "ID_BIRTH_DATE"  # month 13


@pytest.mark.parametrize(
    ("doc_type", "number", "normalised"),
    [
        (DocumentType.PASSPORT, "e12345678", "E12345678"),
        (DocumentType.PASSPORT, "EA1234567", "EA1234567"),
        (DocumentType.PASSPORT, "533 123 456", "533123456"),
        (DocumentType.HK_MACAU_PERMIT, "h12345678", "H12345678"),
        (DocumentType.HK_MACAU_PERMIT, "M1234567801", "M1234567801"),
        (DocumentType.TAIWAN_PERMIT, "12345678", "12345678"),
        (DocumentType.TAIWAN_PERMIT, "1234567890(B)", "1234567890B"),
        (DocumentType.MILITARY_OFFICER, "军字第2001234号", "军字第2001234号"),
        (DocumentType.OTHER, "AB-12", "AB12"),
    ],
)
def test_other_documents_accepted_and_normalised(doc_type, number, normalised):
    assert validate_document(doc_type, number, TODAY) == normalised
    assert normalise_number(doc_type, number) == normalised


@pytest.mark.parametrize(
    ("doc_type", "number"),
    [
        (DocumentType.PASSPORT, "E12"),
        (DocumentType.PASSPORT, "E1234567!"),
        (DocumentType.HK_MACAU_PERMIT, "K12345678"),
        (DocumentType.HK_MACAU_PERMIT, "H1234567"),
        (DocumentType.TAIWAN_PERMIT, "1234567"),
        (DocumentType.TAIWAN_PERMIT, "T1234567"),
        (DocumentType.MILITARY_OFFICER, "军1"),
    ],
)
def test_other_documents_refused(doc_type, number):
    assert code_of(validate_document, doc_type, number, TODAY) == "DOC_FORMAT"


def test_empty_number_and_unknown_type():
    assert code_of(validate_document, DocumentType.PASSPORT, "  ", TODAY) == "DOC_FORMAT"
    assert code_of(validate_document, "library_card", "123", TODAY) == "DOC_TYPE"


def test_document_types_have_chinese_labels():
    labels = {t: t.label for t in DocumentType}
    assert labels[DocumentType.RESIDENT_ID] == "居民身份证"
    assert labels[DocumentType.HOUSEHOLD_REGISTER] == "户口簿"
    assert labels[DocumentType.TAIWAN_PERMIT] == "台湾居民来往大陆通行证"
    assert "2017" in labels[DocumentType.FOREIGNER_2017] and "2023" in labels[DocumentType.FOREIGNER_2023]
    assert all(t.label_en for t in DocumentType)
    assert DocumentType("passport") is DocumentType.PASSPORT


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101199003070011", "**************0011"),
        ("11010119920615002X", "**************002X"),
        ("USA310085012345", "************345"),
        ("E12345678", "******678"),
        ("H1234", "****4"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask(number, masked):
    assert mask(number) == masked
    assert len(mask(number)) == len(number)


@given(valid_numbers())
def test_mask_hides_the_birth_date(number):
    assert number[6:14] not in mask(number)


@given(valid_numbers())
def test_mask_hides_the_region_and_shows_only_the_last_four(number):
    assert mask(number) == "*" * 14 + number[14:]


def test_document_tag_is_the_first_8_bits_of_the_hash():
    digest = document_hash(KEY, DocumentType.RESIDENT_ID, "11010119920615002X")
    tag = document_tag(KEY, DocumentType.RESIDENT_ID, "11010119920615002x")
    assert tag == digest[:2] and len(tag) == 2 and int(tag, 16) < 256
    assert tag_of_hash(digest) == tag and tag_of_hash(None) == ""
    # Deliberately colliding: 256 values, so among a thousand numbers most tags repeat.
    tags = {document_tag(KEY, DocumentType.PASSPORT, f"E{n:08d}") for n in range(1000)}
    assert len(tags) <= 256


def test_document_hash_is_keyed_and_normalised():
    digest = document_hash(KEY, DocumentType.RESIDENT_ID, "11010119920615002x")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == document_hash(KEY, "resident_id", "11010119920615002X")
    assert digest != document_hash(b"j" * 32, DocumentType.RESIDENT_ID, "11010119920615002X")
    assert "11010119920615002X" not in digest
    assert hmac.compare_digest(digest, document_hash(KEY, DocumentType.RESIDENT_ID, " 110101 19920615002X"))


def test_same_18_digit_number_hashes_alike_across_its_documents():
    number = "110101199003070011"
    card = document_hash(KEY, DocumentType.RESIDENT_ID, number)
    assert document_hash(KEY, DocumentType.TEMPORARY_ID, number) == card
    assert document_hash(KEY, DocumentType.HOUSEHOLD_REGISTER, number) == card
    assert document_hash(KEY, DocumentType.PASSPORT, "E12345678") != document_hash(
        KEY, DocumentType.OTHER, "E12345678"
    )


def test_document_hash_refuses_a_short_key():
    with pytest.raises(ValueError):
        document_hash(b"short", DocumentType.PASSPORT, "E12345678")


@given(st.sampled_from(list(DocumentType)), st.text(max_size=40))
def test_any_typed_text_is_accepted_or_refused_with_a_reason(doc_type, text):
    try:
        normalised = validate_document(doc_type, text, TODAY)
    except RuleViolation as error:
        assert error.code.startswith(("ID_", "DOC_"))
        assert error.message and error.en
    else:
        assert normalised == normalise_number(doc_type, text)
        assert validate_document(doc_type, normalised, TODAY) == normalised


def test_non_ascii_digits_are_refused():
    assert code_of(validate_document, DocumentType.HK_MACAU_PERMIT, "H" + "٣" * 8, TODAY) == "DOC_FORMAT"
    assert code_of(validate_resident_id, "٣" * 18, TODAY) == "ID_FORMAT"
