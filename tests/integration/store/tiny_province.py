"""A hand-made province document small enough to read, big enough for every rule.

Home station 杭州汽车客运中心 (330102001). Route R1 calls at 绍兴 then 宁波; route R2 goes to 瑞安.
All departures are on 2026-12-01 (Asia/Shanghai); the tests' clock starts at 06:00 that morning.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from app.domain.identity import check_char

HOME = "330102001"
SHAOXING = "330602001"
NINGBO = "330203001"
RUIAN = "330381001"
CIXI = "330282001"  # a station no route reaches

DAY = "2026-12-01"
NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 06:00 on 2026-12-01 in Shanghai

D_0800 = f"{HOME}-20261201-K0800"  # R1, 45 seats
D_1000_SMALL = f"{HOME}-20261201-K1000"  # R1, 10 seats: free-child cap 1
D_0900_CANCELLED = f"{HOME}-20261201-K0900"  # R2, cancelled
D_1400 = f"{HOME}-20261201-K1400"  # R1, 45 seats
D_0620 = f"{HOME}-20261201-K0620"  # R1, leaves 20 minutes after the clock starts
D_0610_DEPARTED = f"{HOME}-20261201-K0610"  # R1, status departed

FARE_SHAOXING = 3500
FARE_NINGBO = 9800


def resident_id(region: str = "110101", birth: str = "19900307", serial: str = "001") -> str:
    first17 = region + birth + serial
    return first17 + check_char(first17)


ID_A = resident_id(serial="001")
ID_B = resident_id(serial="002")
ID_C = resident_id(serial="003")
ID_D = resident_id(serial="004")
ID_CHILD = resident_id(birth="20180601", serial="005")


def _departure(dep_id, schedule, route, time, vclass, seats, status="normal", stop_sale=5):
    return {
        "id": dep_id,
        "schedule_code": schedule,
        "route": route,
        "date": DAY,
        "time": time,
        "vehicle_class": vclass,
        "seats": seats,
        "gate": "3",
        "status": status,
        "extra": False,
        "stop_sale_minutes": stop_sale,
    }


_DOC = {
    "format": "kezhan-province/1",
    "province": {"code": "330000", "name": "浙江省"},
    "home_station": HOME,
    "stations": [
        {"code": HOME, "name": "杭州汽车客运中心", "pinyin": "HZQCKYZX", "region_code": "330102", "city": "杭州"},
        {"code": SHAOXING, "name": "绍兴", "pinyin": "SX", "region_code": "330602", "city": "绍兴"},
        {"code": NINGBO, "name": "宁波", "pinyin": "NB", "region_code": "330203", "city": "宁波"},
        {"code": RUIAN, "name": "瑞安", "pinyin": "RA", "region_code": "330381", "city": "温州"},
        {"code": CIXI, "name": "慈溪", "pinyin": "CX", "region_code": "330282", "city": "宁波"},
    ],
    "vehicle_classes": [
        {"code": "DG", "name": "大型高级", "seats": 45},
        {"code": "XZ", "name": "小型中级", "seats": 10},
    ],
    "routes": [
        {
            "code": "R1",
            "name": "杭州—宁波",
            "origin": HOME,
            "via": "绍兴",
            "stops": [
                {"station": HOME, "seq": 0, "km": 0},
                {"station": SHAOXING, "seq": 1, "km": 60},
                {"station": NINGBO, "seq": 2, "km": 150},
            ],
        },
        {
            "code": "R2",
            "name": "杭州—瑞安",
            "origin": HOME,
            "via": "",
            "stops": [{"station": HOME, "seq": 0, "km": 0}, {"station": RUIAN, "seq": 1, "km": 380}],
        },
    ],
    "fares": [
        {"route": "R1", "from": HOME, "to": SHAOXING, "vehicle_class": "DG", "full_fare": FARE_SHAOXING},
        {"route": "R1", "from": HOME, "to": NINGBO, "vehicle_class": "DG", "full_fare": FARE_NINGBO},
        {"route": "R1", "from": HOME, "to": SHAOXING, "vehicle_class": "XZ", "full_fare": 4000},
        {"route": "R1", "from": HOME, "to": NINGBO, "vehicle_class": "XZ", "full_fare": 11000},
        {"route": "R2", "from": HOME, "to": RUIAN, "vehicle_class": "DG", "full_fare": 18500},
    ],
    "departures": [
        _departure(D_0800, "K0800", "R1", "08:00", "DG", 45),
        _departure(D_1000_SMALL, "K1000", "R1", "10:00", "XZ", 10),
        _departure(D_0900_CANCELLED, "K0900", "R2", "09:00", "DG", 45, status="cancelled"),
        _departure(D_1400, "K1400", "R1", "14:00", "DG", 45),
        _departure(D_0620, "K0620", "R1", "06:20", "DG", 45, stop_sale=10),
        _departure(D_0610_DEPARTED, "K0610", "R1", "06:10", "DG", 45, status="departed"),
    ],
    "ticket_types": [
        {"code": "full", "name": "全票", "rate_percent": 100, "needs_seat": True, "needs_adult": False,
         "counts_free_child_cap": False, "rounding": "yuan", "document_required": True},
        {"code": "child", "name": "儿童票", "rate_percent": 50, "needs_seat": True, "needs_adult": False,
         "counts_free_child_cap": False, "rounding": "half_yuan", "document_required": True, "can_carry": False},
        {"code": "free_child", "name": "免票携童", "rate_percent": 0, "needs_seat": False, "needs_adult": True,
         "counts_free_child_cap": True, "rounding": "yuan", "document_required": False},
        {"code": "student", "name": "学生票", "rate_percent": 75, "needs_seat": True, "needs_adult": False,
         "counts_free_child_cap": False, "rounding": "half_yuan", "document_required": True},
    ],
    "refund_policy": {
        "tiers": [
            {"min_minutes_before": 120, "rate_percent": 10},
            {"min_minutes_before": 0, "rate_percent": 20},
            {"min_minutes_before": -30, "rate_percent": 50},
        ],
        "minimum_fee": 100,
        "rounding": "half_yuan",
        "allow_after_minutes": 30,
        "forced_fee": 0,
    },
    "change_policy": {"max_changes": 1, "cutoff_minutes": 30, "fee": 200},
    "insurance": {"name": "乘意险", "price": 300},
}


def tiny_province() -> dict:
    return copy.deepcopy(_DOC)
