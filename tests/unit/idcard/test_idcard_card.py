import datetime as dt

import pytest

from drivers.idcard import CardDataError, mask, parse_text, valid_number
from drivers.idcard.card import parse_read_response
from drivers.idcard.nations import NATIONS, nation_name
from drivers.idcard.simulator import SAMPLE_CARDS, build_photo, build_text, read_reply_data


def text_with(offset: int, value: str, base: bytes) -> bytes:
    raw = bytearray(base)
    encoded = value.encode("utf-16-le")
    raw[offset : offset + len(encoded)] = encoded
    return bytes(raw)


def test_resident_card_every_field():
    card = parse_text(build_text(SAMPLE_CARDS["resident"]), b"PHOTO")
    assert card.to_json() == {
        "card_type": "resident",
        "name": "王小明",
        "sex": "男",
        "nation": "汉",
        "birth_date": "1990-03-07",
        "address": "北京市东城区南池子大街1号",
        "id_number": "110101199003070011",
        "authority": "北京市公安局东城分局",
        "valid_from": "2020-03-15",
        "valid_to": "2040-03-15",
        "number_valid": True,
    }
    assert card.photo == b"PHOTO"


def test_text_offsets_match_the_protocol_table():
    # Independent of the builder: place fields by hand at the documented offsets.
    raw = bytearray(" ".encode("utf-16-le") * 128)
    for offset, value in [(0, "李四"), (30, "2"), (32, "03"), (36, "19951231"), (52, "上海市黄浦区"),
                          (122, "110101199512310028"), (158, "上海市公安局"), (188, "20151231"), (204, "长期")]:
        encoded = value.encode("utf-16-le")
        raw[offset : offset + len(encoded)] = encoded
    card = parse_text(bytes(raw))
    assert (card.card_type, card.name, card.sex, card.nation) == ("resident", "李四", "女", "回")
    assert card.birth_date == "1995-12-31" and card.valid_to == "长期" and card.valid_from == "2015-12-31"
    assert card.address == "上海市黄浦区" and card.authority == "上海市公安局" and card.number_valid


def test_type_byte_zero_is_a_resident_card():
    raw = bytearray(build_text(SAMPLE_CARDS["resident"]))
    raw[248] = 0
    assert parse_text(bytes(raw)).card_type == "resident"


def test_hmt_residence_permit():
    card = parse_text(build_text(SAMPLE_CARDS["hmt"]))
    data = card.to_json()
    assert data["card_type"] == "hmt_residence"
    assert (data["name"], data["sex"], data["nation"], data["id_number"]) == ("陈家明", "男", "", "810000198805120016")
    assert (card.pass_number, card.issue_count) == ("H12345678", "01")
    assert data["number_valid"] is True
    assert "name_en" not in data


def test_hmt_number_must_start_81_to_83():
    spec = dict(SAMPLE_CARDS["hmt"], number="110101199003070011", birth="19900307")
    assert parse_text(build_text(spec)).number_valid is False


def test_foreigner_2017_card():
    card = parse_text(build_text(SAMPLE_CARDS["foreign2017"]))
    data = card.to_json()
    assert data["card_type"] == "foreign_permanent_2017"
    assert data["name"] == "史密斯" and data["name_en"] == "SMITH, JOHN WILLIAM"
    assert data["nationality"] == "USA" and data["sex"] == "男" and data["nation"] == ""
    assert data["birth_date"] == "1985-07-17" and data["id_number"] == "USA118507170011"
    assert data["valid_from"] == "2017-09-01" and data["valid_to"] == "2027-09-01"
    assert card.card_version == "01" and card.authority_code == "1100" and data["number_valid"] is True


def test_foreigner_2017_number_must_agree_with_the_card():
    spec = dict(SAMPLE_CARDS["foreign2017"], nationality="CAN")
    assert parse_text(build_text(spec)).number_valid is False
    spec = dict(SAMPLE_CARDS["foreign2017"], birth="19850718")
    assert parse_text(build_text(spec)).number_valid is False


def test_foreigner_2023_card_with_english_name_continued():
    card = parse_text(build_text(SAMPLE_CARDS["foreign2023"]))
    data = card.to_json()
    assert data["card_type"] == "foreign_permanent_2023"
    assert data["name"] == "玛丽亚" and data["sex"] == "女" and data["nationality"] == "ESP"
    # 39 characters: 35 at offset 52, the rest at 220.
    assert data["name_en"] == "GARCIA LOPEZ, MARIA ISABEL ALEJANDRA FE"
    assert data["id_number"] == "911724199206150027" and data["number_valid"] is True
    assert card.renewals == "00" and data["birth_date"] == "1992-06-15"


def test_foreigner_2023_short_name_has_no_trailing_padding():
    spec = dict(SAMPLE_CARDS["foreign2023"], name_en="LI, ANNA")
    assert parse_text(build_text(spec)).name_en == "LI, ANNA"


def test_long_term_validity():
    spec = dict(SAMPLE_CARDS["resident"], valid_to="长期")
    assert parse_text(build_text(spec)).to_json()["valid_to"] == "长期"


@pytest.mark.parametrize("code,word", [("1", "男"), ("2", "女"), ("0", "未知"), ("9", "未知")])
def test_sex_codes(code, word):
    spec = dict(SAMPLE_CARDS["resident"], sex=code)
    assert parse_text(build_text(spec)).sex == word


def test_nation_table_is_complete():
    assert len(NATIONS) == 58
    assert [f"{n:02d}" for n in range(1, 57)] + ["97", "98"] == list(NATIONS)
    assert len(set(NATIONS.values())) == 58
    assert (nation_name("01"), nation_name("05"), nation_name("56"), nation_name("97"), nation_name("98")) == (
        "汉", "维吾尔", "基诺", "其他", "外国血统")
    assert nation_name("") == "" and nation_name("77") == "77"


def test_unknown_card_type_is_reported():
    raw = bytearray(build_text(SAMPLE_CARDS["resident"]))
    raw[248] = ord("Q")
    with pytest.raises(CardDataError) as info:
        parse_text(bytes(raw))
    assert info.value.code == "unknown_card_type"


def test_a_date_that_is_no_date_is_reported_not_guessed():
    raw = text_with(36, "19901332", build_text(SAMPLE_CARDS["resident"]))
    with pytest.raises(CardDataError):
        parse_text(raw)


def test_read_response_with_and_without_fingerprint():
    spec = SAMPLE_CARDS["resident"]
    card = parse_read_response(read_reply_data(spec))
    assert card.photo == build_photo(spec) and len(card.photo) == 1024 and card.fingerprint == b""
    card = parse_read_response(read_reply_data(spec, fingerprint=b"F" * 512), with_fingerprint=True)
    assert card.fingerprint == b"F" * 512 and card.name == "王小明"
    with pytest.raises(CardDataError):
        parse_read_response(read_reply_data(spec)[:-1])


@pytest.mark.parametrize("number", ["110101199003070011", "110101199512310028", "11010119920615002X"])
def test_documented_numbers_are_valid(number):
    assert valid_number(number)


@pytest.mark.parametrize(
    "number,kw",
    [
        ("110101199003070012", {}),  # wrong check digit
        ("11010119900307001", {}),  # 17 characters
        ("990101199003070015", {}),  # no such province (check digit right)
        ("110101199002300014", {}),  # 30 February (check digit right)
        ("110101199003070011", {"sex_code": "2"}),  # odd sequence digit on a woman's card
        ("110101203001010014", {"today": dt.date(2026, 1, 1)}),  # born in the future
        ("911724199206150027", {}),  # a foreigner number where a citizen's is expected
    ],
)
def test_invalid_numbers(number, kw):
    assert not valid_number(number, **kw)


def test_foreign_prefix_only_for_foreign_cards():
    assert valid_number("911724199206150027", foreign=True, sex_code="2")
    assert not valid_number("110101199003070011", foreign=True)


def test_repr_never_shows_the_whole_number():
    card = parse_text(build_text(SAMPLE_CARDS["resident"]))
    assert "110101199003070011" not in repr(card) and "**************0011" in repr(card)
    assert mask("110101199003070011") == "**************0011"
