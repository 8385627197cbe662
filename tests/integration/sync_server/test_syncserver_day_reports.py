"""The station's and the province's day (docs/reports.md): a real day of window sales, refunds,
changes, voids, web orders and gate checks at two stations, uploaded as the terminals upload it, read
back per station, per carrier with its clearing, per departure and per terminal -- by the admin API,
the command line, CSV and an XLSX workbook opened again with openpyxl."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
import requests
from openpyxl import load_workbook

from app.cli import main
from sync import protocol
from sync.server import ServerThread

from .conftest import ADMIN, DEST, FULL, HOME, MID, Harness, departure, line_province

DAY = "2026-11-24"
SOON = f"{HOME}-20261124-K0900"  # route R1, carrier C01
LATER = f"{HOME}-20261125-K0900"  # R1, the next day
MID_DEP = f"{MID}-20261124-K0930"  # route R2 from 萧山, carrier C02


def _province() -> dict:
    doc = line_province([departure("2026-11-24", "09:00", 10, gate="1"), departure("2026-11-25", "09:00", 10)],
                        seats=10, ticket_types=[FULL])
    doc["routes"][0]["carrier"] = {"code": "C01", "name": "杭州长运"}
    doc["routes"].append({"code": "R2", "name": "萧山-绍兴", "origin": MID, "carrier": {"code": "C02", "name": "萧山客运"},
                          "stops": [{"station": MID, "seq": 0, "km": 0}, {"station": DEST, "seq": 1, "km": 40}]})
    doc["fares"].append({"route": "R2", "from": MID, "to": DEST, "vehicle_class": "ZG", "full_fare": 2000})
    doc["departures"].append({"id": MID_DEP, "schedule_code": "K0930", "route": "R2", "date": "2026-11-24",
                              "time": "09:30", "vehicle_class": "ZG", "seats": 10, "status": "normal",
                              "extra": False, "stop_sale_minutes": 5})
    doc["gate"] = {"station_fee_percent": 10, "agency_fee_percent": 2.5}
    # A province of several stations: each terminal prices from its own station.
    del doc["home_station"]
    return doc


@pytest.fixture
def server(server_db_url, clock, settings):
    srv = ServerThread(server_db_url, admin_token=ADMIN, province=_province(), clock=clock, settings=settings,
                       sweep_interval=None)
    srv.start()
    yield Harness(srv, clock)
    srv.stop()


def _tid(sale: dict) -> str:
    return sale["payload"]["tickets"][0]["ticket_id"]


def _upload(t, *events, conflicts=()) -> dict:
    r = t.upload(list(events))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acked_through"] == events[-1]["seq"]
    assert [c["kind"] for c in body["conflicts"]] == list(conflicts)
    return body


def _web(server, departure_id: str, stop: str) -> dict:
    r = server.post_admin("/v1/web/orders", {"departure_id": departure_id, "stop": stop,
                                             "passengers": [{"name": "李四", "doc_type": "resident_id",
                                                             "doc_number": "11010119900307001X"}]})
    assert r.status_code == 201, r.text
    return r.json()["tickets"][0]


def _day(server) -> dict:
    """The day: 杭州 (windows a and b, gate g) and 萧山 (window m), and the web channel."""
    a, b, g = server.terminal(), server.terminal(), server.terminal()
    m = server.terminal(MID)
    # a: three sales (one with insurance), a refund with its fee, a void, and a sale the server refuses.
    a1, a2, a3 = a.sale(SOON, 1), a.sale(SOON, 2), a.sale(SOON, 3)
    a2["payload"]["tickets"][0]["insurance"] = 300
    a2["payload"]["payment"]["amount"] = a2["payload"]["payment"]["tendered"] = 3550
    a2["hash"] = protocol.event_hash(a2)
    refund = a.event("ticket.refunded", {"ticket_id": _tid(a2), "fee": 650, "refund_amount": 3250 - 650 + 300,
                                         "forced": False, "approved_by": None, "refunded_at": "2026-11-24T00:10:00Z",
                                         "clerk": "c01", "shift_id": "S1"})
    void = a.event("ticket.voided", {"ticket_id": _tid(a3), "stock_no": "A0003", "voided_at": "2026-11-24T00:05:00Z",
                                     "clerk": "c01", "shift_id": "S1"})
    bad = a.sale(SOON, 8, price=99)  # not the fare: refused, an alarm, not the day's money
    _upload(a, a1, a2, a3, refund, void, bad, conflicts=["REFUSED"])
    # b: to 绍兴 and to 萧山 on SOON, one for tomorrow changed to another seat.
    b1, b2, b3 = b.sale(SOON, 4), b.sale(SOON, 6, price=1500, stop=MID), b.sale(LATER, 1)
    old = b3["payload"]["tickets"][0]
    change = b.event("ticket.changed", {"old_ticket_id": old["ticket_id"],
                                        "new_ticket": {**old, "ticket_id": b.next_ticket_id(), "seat_no": 7},
                                        "fare_difference": 0, "fee": 0, "changed_at": "2026-11-24T00:06:00Z",
                                        "clerk": "c01", "shift_id": "S1"})
    _upload(b, b1, b2, b3, change)
    # m at 萧山: two sales on its own route.
    m1, m2 = m.sale(MID_DEP, 1, price=2000), m.sale(MID_DEP, 2, price=2000)
    _upload(m, m1, m2)
    # The web: one ticket from 杭州 that boards, one from 萧山 refunded online.
    w1, w2 = _web(server, SOON, DEST), _web(server, MID_DEP, DEST)
    r = server.post_admin(f"/v1/web/tickets/{w2['ticket_id']}/refund")
    assert r.status_code == 200, r.text
    # g at 杭州's gate: four boarded, the road bill made.
    _upload(g, g.gate("gate.opened", departure_id=SOON),
            *[g.gate("ticket.checked", ticket_id=t, departure_id=SOON)
              for t in (_tid(a1), _tid(b1), _tid(b2), w1["ticket_id"])],
            g.gate("gate.stopped", departure_id=SOON),
            g.gate("roadbill.made", number="0001", departure_id=SOON, checked=4,
                   rows=[{"destination": DEST, "ticket_type": "full", "count": 3, "amount": 9750},
                         {"destination": MID, "ticket_type": "full", "count": 1, "amount": 1500}],
                   totals={"count": 4, "amount": 11250}))
    return {"a": a, "b": b, "g": g, "m": m, "bad_seq": bad["seq"]}


def _get(server, kind: str, **params):
    r = server.get_admin(f"/v1/admin/reports/{kind}", date=DAY, **params)
    assert r.status_code == 200, r.text
    return r


HOME_FIGURES = {"window_tickets": 6, "window_amount": 3250 + 3550 + 3250 + 3250 + 1500 + 3250,
                "web_tickets": 1, "web_amount": 3250, "refunds": 1, "refund_amount": 2900, "refund_fees": 650,
                "changes": 1, "change_differences": 0, "change_fees": 0, "voids": 1, "void_amount": 3250}
HOME_FIGURES["net"] = HOME_FIGURES["window_amount"] + 3250 - 2900 - 3250
MID_FIGURES = {"window_tickets": 2, "window_amount": 4000, "web_tickets": 1, "web_amount": 2000, "refunds": 1,
               "refund_amount": 2000, "refund_fees": 0, "changes": 0, "change_differences": 0, "change_fees": 0,
               "voids": 0, "void_amount": 0, "net": 4000}


def test_the_days_reports_per_station_carrier_departure_and_terminal(server):
    day = _day(server)
    station = _get(server, "station").json()
    rows = {r["station"]: r for r in station["stations"]}
    assert set(rows) == {HOME, MID}
    assert {k: rows[HOME][k] for k in HOME_FIGURES} == HOME_FIGURES
    assert {k: rows[MID][k] for k in MID_FIGURES} == MID_FIGURES
    assert rows[HOME]["station_name"] == "杭州客运中心"
    assert station["totals"]["net"] == HOME_FIGURES["net"] + MID_FIGURES["net"]
    assert station["totals"]["window_tickets"] == 8
    # One station asked for: only its row.
    only = _get(server, "station", station=MID).json()
    assert [r["station"] for r in only["stations"]] == [MID]

    carrier = _get(server, "carrier").json()
    c = {r["carrier"]: r for r in carrier["carriers"]}
    assert (c["C01"]["carrier_name"], c["C02"]["carrier_name"]) == ("杭州长运", "萧山客运")
    assert {k: c["C01"][k] for k in HOME_FIGURES} == HOME_FIGURES
    assert {k: c["C02"][k] for k in MID_FIGURES} == MID_FIGURES
    # Clearing: SOON's road bill of 112.50 yuan; 10 % station fee, 2.5 % agency fee (281.25 fen rounds to 281).
    assert (c["C01"]["departures"], c["C01"]["billed_departures"], c["C01"]["checked"]) == (1, 1, 4)
    assert (c["C01"]["fares"], c["C01"]["station_fee"], c["C01"]["agency_fee"], c["C01"]["carrier_due"]) == (
        11250, 1125, 281, 9844)
    assert (c["C02"]["departures"], c["C02"]["billed_departures"], c["C02"]["fares"]) == (1, 0, 0)
    for row in [*carrier["carriers"], carrier["totals"]]:
        assert row["fares"] == row["carrier_due"] + row["station_fee"] + row["agency_fee"]
    assert carrier["settings"] == {"station_fee_percent": "10", "agency_fee_percent": "2.5"}

    deps = {d["departure_id"]: d for d in _get(server, "departures").json()["departures"]}
    assert set(deps) == {SOON, MID_DEP}  # LATER leaves tomorrow
    soon = deps[SOON]
    assert (soon["time"], soon["carrier_name"], soon["state"], soon["checked"], soon["road_bill_no"]) == (
        "09:00", "杭州长运", "stopped", 4, "0001")
    assert soon["sold"] == 4  # a1, b1, b2, the web ticket: the refunded and the voided hold no seat
    assert (soon["fares"], soon["carrier_due"]) == (11250, 9844)
    assert (deps[MID_DEP]["sold"], deps[MID_DEP]["checked"], deps[MID_DEP]["road_bill_no"]) == (2, 0, None)

    # Reconciliation: every terminal of the day, the refused sale listed as a mismatch of a's.
    rec = _get(server, "reconciliation").json()
    terms = {r["terminal_id"]: r for r in rec["terminals"]}
    assert set(terms) == {day[k].terminal_id for k in "abgm"}
    assert terms[day["a"].terminal_id]["tickets_sold"] == 3 and terms[day["a"].terminal_id]["mismatches"] == 1
    assert [(x["terminal_id"], x["kind"], x["seq"]) for x in rec["mismatches"]] == [
        (day["a"].terminal_id, "BAD_AMOUNT", day["bad_seq"])]
    # The terminal's own reconciliation carries the same list.
    own = day["a"].call("GET", f"/v1/reconciliation?date={DAY}").json()
    assert [(x["kind"], x["seq"]) for x in own["mismatches"]] == [("BAD_AMOUNT", day["bad_seq"])]
    assert day["b"].call("GET", f"/v1/reconciliation?date={DAY}").json()["mismatches"] == []
    # Reports are the admin's: no token, no figures.
    r = requests.get(server.url + "/v1/admin/reports/station", params={"date": DAY}, timeout=10,
                     headers={protocol.H_PROTOCOL: protocol.PROTOCOL_VERSION})
    assert (r.status_code, r.json()["error"]) == (401, "ADMIN_TOKEN_INVALID")


def test_the_days_reports_as_csv_and_as_a_workbook(server, tmp_path, capsys):
    _day(server)
    text = _get(server, "station", format="csv").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["车站代码 Station", "车站 Station name", "窗口售票 Window tickets"]
    home = next(r for r in table if r[0] == HOME)
    assert home[3] == str(HOME_FIGURES["window_amount"] // 100) + "." + f"{HOME_FIGURES['window_amount'] % 100:02d}"
    assert table[-1][0] == "合计 Total"

    # The command line on the database: JSON and CSV, and every report into one workbook.
    db = server.srv.db_url
    assert main(["server", "report", "carrier", "--db", db, "--day", DAY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["carrier"]: r["carrier_due"] for r in out["carriers"]} == {"C01": 9844, "C02": 0}
    assert main(["server", "report", "departures", "--db", db, "--day", DAY, "--station", HOME, "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[0] for r in rows[1:]] == [SOON, "合计 Total"]
    book = tmp_path / "day.xlsx"
    assert main(["server", "report", "all", "--db", db, "--day", DAY, "--xlsx", str(book)]) == 0
    assert "day.xlsx" in capsys.readouterr().out

    wb = load_workbook(book)
    assert wb.sheetnames == ["车站日报 Station", "承运清分 Carrier", "发班 Departures", "对账 Reconciliation",
                             "不符 Mismatches"]
    ws = wb["承运清分 Carrier"]
    headers = [c.value.replace("\n", " ") for c in ws[2]]  # Chinese above English in each header cell
    assert headers[:2] == ["承运企业代码 Carrier code", "承运企业 Carrier"]
    col = {h: i for i, h in enumerate(headers)}
    c01 = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "C01")
    fares, fee, agency, due = (c01[col[h]] for h in ("路单票款 Fares", "站务费 Station fee", "代理费 Agency fee",
                                                     "应付承运 Due to carrier"))
    # Amounts are numbers in yuan with two decimals, not text.
    assert isinstance(fares.value, (int, float)) and fares.number_format == "#,##0.00"
    assert [Decimal(str(x.value)) for x in (fares, fee, agency, due)] == [
        Decimal("112.5"), Decimal("11.25"), Decimal("2.81"), Decimal("98.44")]
    total = list(ws.iter_rows(min_row=ws.max_row))[0]
    assert total[0].value == "合计 Total" and Decimal(str(total[col["应付承运 Due to carrier"]].value)) == Decimal("98.44")
    st = wb["车站日报 Station"]
    net_col = [c.value for c in st[2]].index("实收\nNet takings")
    home = next(r for r in st.iter_rows(min_row=3) if r[0].value == HOME)
    assert Decimal(str(home[net_col].value)) == Decimal(HOME_FIGURES["net"]) / 100
    mism = wb["不符 Mismatches"]
    assert [c.value for c in list(mism.iter_rows(min_row=3))[0]][1] == "BAD_AMOUNT"
    dep = wb["发班 Departures"]
    assert [r[0].value for r in dep.iter_rows(min_row=3)] == [SOON, MID_DEP, "合计 Total"]


def test_two_stations_on_one_route_are_each_priced_from_their_own(server):
    """Without a home station each terminal prices from its own station; the server keeps the fares
    it reads for every batch after, and one station's fare is never another's."""
    doc = _province()
    doc["fares"].append({"route": "R1", "from": MID, "to": DEST, "vehicle_class": "ZG", "full_fare": 1800})
    server.srv.server.import_province(doc)
    home, mid = server.terminal(), server.terminal(MID)
    first = home.sale(SOON, 1)  # 杭州 → 绍兴 on R1: 32.50
    _upload(home, first)
    second = mid.sale(SOON, 2, price=1800)  # 萧山 → 绍兴 on the same bus: 18.00
    _upload(mid, second)
    third = home.sale(SOON, 3)
    _upload(home, third)
    sold = {t["ticket_id"]: t for t in server.srv.server.export_tickets()}
    assert [sold[_tid(s)]["price"] for s in (first, second, third)] == [3250, 1800, 3250]
    alarms = server.get_admin("/v1/admin/alarms").json()["alarms"]
    assert [a["kind"] for a in alarms if a["terminal_id"] in (home.terminal_id, mid.terminal_id)] == []
