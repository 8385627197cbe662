"""The smallest province the sync and window tests need: one line 杭州 → 萧山 → 绍兴 in the
document format of docs/architecture.md. Each test folder brings its own departures and, where it
needs more than the full fare, its ticket types; everything else is the same line."""

from __future__ import annotations

HOME = "330102001"
MID = "330104001"
DEST = "330106001"

FULL = {"code": "full", "name": "全票", "rate_percent": 100, "needs_seat": True, "needs_adult": False,
        "counts_free_child_cap": False, "rounding": "fen", "document_required": True}
CHILD = {"code": "child", "name": "儿童票", "rate_percent": 50, "needs_seat": True, "needs_adult": True,
         "counts_free_child_cap": False, "rounding": "jiao", "document_required": True}


def departure(day: str, hhmm: str, seats: int, gate: str = "3") -> dict:
    """A normal departure of the line on ``day`` (YYYY-MM-DD) at ``hhmm``, local time."""
    code = "K" + hhmm.replace(":", "")
    return {"id": f"{HOME}-{day.replace('-', '')}-{code}", "schedule_code": code, "route": "R1", "date": day,
            "time": hhmm, "vehicle_class": "ZG", "seats": seats, "gate": gate, "status": "normal",
            "extra": False, "stop_sale_minutes": 5}


def line_province(departures: list[dict], *, seats: int, ticket_types: list[dict] | None = None) -> dict:
    return {
        "format": "kezhan-province/1",
        "province": {"code": "330000", "name": "浙江省"},
        "home_station": HOME,
        "stations": [
            {"code": HOME, "name": "杭州客运中心", "pinyin": "HZKYZX", "region_code": "330102", "city": "杭州"},
            {"code": MID, "name": "萧山", "pinyin": "XS", "region_code": "330104", "city": "杭州"},
            {"code": DEST, "name": "绍兴", "pinyin": "SX", "region_code": "330106", "city": "绍兴"},
        ],
        "vehicle_classes": [{"code": "ZG", "name": "中型高级", "seats": seats}],
        "routes": [{"code": "R1", "name": "杭州-绍兴", "origin": HOME, "via": [MID],
                    "stops": [{"station": HOME, "seq": 0, "km": 0}, {"station": MID, "seq": 1, "km": 20},
                              {"station": DEST, "seq": 2, "km": 60}]}],
        "fares": [
            {"route": "R1", "from": HOME, "to": MID, "vehicle_class": "ZG", "full_fare": 1500},
            {"route": "R1", "from": HOME, "to": DEST, "vehicle_class": "ZG", "full_fare": 3250},
        ],
        "departures": departures,
        "ticket_types": ticket_types or [FULL],
        "refund_policy": {"tiers": [{"min_minutes_before": 120, "rate_percent": 10},
                                    {"min_minutes_before": 0, "rate_percent": 20}],
                          "minimum_fee": 100, "rounding": "jiao", "forced_fee": 0},
        "change_policy": {"max_changes": 1, "cutoff_minutes": 120, "fee": 0},
        "insurance": {"name": "乘意险", "price": 300},
    }
