"""Ticket fields, the template, road bills and settlement slips."""

from __future__ import annotations

import copy
import json

import pytest

from drivers.printer import TemplateError, get_profile, load_template, render_ticket, ticket_job
from drivers.printer.encoder import encode_text
from drivers.printer.layout import (
    DEFAULT_TEMPLATE,
    money,
    render_road_bill,
    render_settlement,
    road_bill_rows,
    settlement_rows,
    ticket_values,
)
from tests.unit.printer.helpers import SAMPLE_TICKET


def test_the_shipped_template_loads():
    assert DEFAULT_TEMPLATE.exists()
    tpl = load_template()
    assert tpl["format"] == "kezhan-ticket-template/1"
    assert any("qr" in item for item in tpl["roll"])
    assert any("qr" in item for item in tpl["preprinted"]["items"])


@pytest.mark.parametrize(
    "fen, text", [(0, "￥0.00"), (5, "￥0.05"), (4550, "￥45.50"), (123456, "￥1234.56"), (-300, "-￥3.00")]
)
def test_money_is_fen_with_the_fullwidth_sign(fen, text):
    assert money(fen) == text


@pytest.mark.parametrize("bad", [45.5, "45.50", None, True])
def test_money_refuses_anything_but_integer_fen(bad):
    with pytest.raises(TemplateError):
        money(bad)


def test_every_face_field_is_printed():
    data, lines = ticket_job(SAMPLE_TICKET, "80mm")
    text = "\n".join(lines)
    for value in [
        "B2026001234",
        "杭州",
        "宁波（南站）",
        "2026-11-24",
        "14:05",
        "K2207",
        "座号 07",
        "儿童票",
        "￥63.50",
        "中型高级",
        "检票口 5",
        "S012",
        "乘意险",
        "￥3.00",
        "李·小明",
    ]:
        assert value in text, value
    assert encode_text("￥63.50") in data
    assert b"KZ1.330102001-T02-004711.3q2Zx9Lk0PfY" in data  # the QR payload
    assert b"{BB2026001234" in data  # Code128 of the stock number
    assert b"?" not in data


def test_a_free_child_has_no_seat_and_no_insurance_line():
    fields = dict(SAMPLE_TICKET, seat=None, insurance=0, ticket_type="免票携童", price=0)
    values = ticket_values(fields)
    assert values["seat"] == "无座" and values["insurance"] == "" and values["price"] == "￥0.00"
    _, lines = ticket_job(fields, "80mm")
    assert not any("乘意险" in line for line in lines)
    assert any("座号 无座" in line for line in lines)


def test_dates_and_times_print_as_a_clerk_reads_them():
    import datetime

    fields = dict(
        SAMPLE_TICKET,
        date=datetime.date(2026, 11, 24),
        time=datetime.time(14, 5),
        sold_at=datetime.datetime(2026, 11, 24, 9, 41, 30),
    )
    values = ticket_values(fields)
    assert (values["date"], values["time"], values["sold_at"]) == ("2026-11-24", "14:05", "2026-11-24 09:41")
    assert render_ticket(fields, "80mm") == render_ticket(SAMPLE_TICKET, "80mm")


def test_a_ticket_without_a_price_is_refused():
    with pytest.raises(TemplateError):
        render_ticket(dict(SAMPLE_TICKET, price=None))


def test_missing_fields_are_named():
    fields = {k: v for k, v in SAMPLE_TICKET.items() if k not in ("gate", "price")}
    with pytest.raises(TemplateError) as err:
        render_ticket(fields)
    assert err.value.code == "PRINTER_MISSING_FIELD"
    assert "gate" in err.value.en and "price" in err.value.en


def test_template_errors_are_caught_before_printing():
    tpl = load_template()
    bad = copy.deepcopy(tpl)
    bad["roll"].append({"text": "{no_such_field}"})
    with pytest.raises(TemplateError) as err:
        render_ticket(SAMPLE_TICKET, template=bad)
    assert "no_such_field" in err.value.en
    bad = copy.deepcopy(tpl)
    bad["roll"][0]["size"] = "huge"
    with pytest.raises(TemplateError) as err:
        render_ticket(SAMPLE_TICKET, template=bad)
    assert "size" in err.value.en
    bad = copy.deepcopy(tpl)
    bad["preprinted"]["items"].append(
        {"text": "{gate}", "x": 6, "y": 12}
    )  # under the double-height origin row
    with pytest.raises(TemplateError) as err:
        render_ticket(SAMPLE_TICKET, "preprinted", template=bad)
    assert "overlaps" in err.value.en


def test_a_template_file_can_replace_the_layout(tmp_path):
    tpl = {
        "format": "kezhan-ticket-template/1",
        "roll": [{"text": "只有票号 {stock_no}"}, {"qr": "{ticket_code}"}],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tpl, ensure_ascii=False), encoding="utf-8")
    data, lines = ticket_job(SAMPLE_TICKET, "58mm", template=path)
    assert lines == ["只有票号 B2026001234"]
    assert data.endswith(b"\x1dVB\x30")


def test_profile_overrides():
    assert get_profile("80mm", qr="image").qr == "image"
    assert get_profile("58mm", cut="full").cut == "full"
    with pytest.raises(TemplateError):
        get_profile("110mm")
    with pytest.raises(TemplateError):
        get_profile("80mm", qr="laser")


def test_long_station_names_shrink_instead_of_wrapping_on_58mm():
    fields = dict(SAMPLE_TICKET, origin="杭州汽车客运中心", destination="宁波汽车南站")
    data, lines = ticket_job(fields, "58mm")
    route = encode_text("杭州汽车客运中心 → 宁波汽车南站")
    # Double height only (GS ! 0x01): at double width it would not fit 16 columns.
    before = data[: data.index(route)]
    assert before[before.rindex(b"\x1d!") :][:3] == b"\x1d!\x01"


BILL = {
    "station": "杭州汽车客运中心",
    "bill_no": "LD20261124-0031",
    "date": "2026-11-24",
    "time": "14:05",
    "schedule_code": "K2207",
    "plate": "浙A·D1234",
    "vehicle_class": "中型高级",
    "gate": "5",
    "driver": "王师傅",
    "checker": "J003",
    "rows": [
        {"destination": "宁波南", "count": 21, "amount": 133350},
        {"destination": "余姚", "count": 6, "amount": 24600},
    ],
    "free_children": 2,
    "station_fee": 15795,
}


def test_road_bill_totals_and_signatures():
    title, rows = road_bill_rows(BILL)
    assert title == "杭州汽车客运中心 路单"
    flat = [r["pair"] if isinstance(r, dict) and "pair" in r else r for r in rows]
    total = next(r for r in flat if isinstance(r, tuple) and r[0] == "合计")
    assert total[1].split() == ["27", "￥1579.50"]
    assert ("应付承运人", "￥1421.55") in flat
    assert "驾驶员签字：" in flat and "检票员签字：" in flat
    data = render_road_bill(BILL, "58mm")
    assert encode_text("宁波南") in data and data.endswith(b"\x1dVB\x30")


def test_road_bill_without_rows_is_refused():
    with pytest.raises(TemplateError):
        render_road_bill({k: v for k, v in BILL.items() if k != "rows"})


def test_settlement_slip():
    s = {
        "clerk": "S012",
        "shift_id": "S0087",
        "opened_at": "07:30",
        "closed_at": "15:30",
        "lines": [["售出 全票", "64 张"], ["现金收入", 412300]],
        "amount_due": 413570,
    }
    title, rows = settlement_rows(s)
    assert title == "交班结算单"
    assert ("现金收入", "￥4123.00") in rows and ("售出 全票", "64 张") in rows
    assert encode_text("应交款  ￥4135.70") in render_settlement(s)


def test_refund_slip_shows_the_fee_and_what_goes_back():
    from drivers.printer.layout import refund_rows, render_refund_slip

    r = {"station": "杭州汽车客运中心站", "ticket_id": "330102001-T01-000123", "stock_no": "00100007",
         "passenger": "王小明", "passenger_doc": "110101********0011", "price": 4550, "insurance": 200,
         "fee": 455, "total": 4295, "tier": "发车前 2 小时以上", "method": "cash",
         "also_refunded": ["330102001-T01-000124"], "clerk": "1001", "refunded_at": "2026-11-24 09:41"}
    title, rows = refund_rows(r)
    assert title == "杭州汽车客运中心站 退票凭证"
    assert ("退票手续费", "￥4.55（发车前 2 小时以上）") in rows and ("票价", "￥45.50") in rows
    assert ("保险费（退还）", "￥2.00") in rows and ("随同退票（携童）", "330102001-T01-000124") in rows
    assert encode_text("实退金额  ￥42.95") in render_refund_slip(r)
    forced = refund_rows({**r, "forced": True, "fee": 0, "approved_by": "9001", "tier": ""})[1]
    assert ("退票手续费", "￥0.00（强退免收）") in forced and ("强退授权", "9001") in forced
    with pytest.raises(TemplateError):
        render_refund_slip({k: v for k, v in r.items() if k != "fee"})
