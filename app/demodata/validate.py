"""Check a generated province document: the ``kezhan-province/1`` schema
(``app.domain.province``, shared with the terminal's loader and the server), then what a whole
document must hold together — references between records, GB/T 2260 codes, pinyin initials,
gates, complete rules.

Returns a list of problems, one readable line each, rather than raising at the first: a recipe
edit that breaks several things should show all of them at once.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from app.domain.province import TICKET_TYPE_FIELDS, province_problems

_DIVISION = re.compile(r"^\d{6}$")
_STATION = re.compile(r"^\d{9}$")
_INITIALS = re.compile(r"^[A-Z]+$")


def _division_problems(code: str, province: str, what: str) -> list[str]:
    """A GB/T 2260 county code: six digits, in the province, under a city, not a city itself."""
    if not isinstance(code, str) or not _DIVISION.match(code):
        return [f"{what}: region code {code!r} is not six digits"]
    out = []
    if code[:2] != province[:2]:
        out.append(f"{what}: region code {code} is outside province {province}")
    if code[2:4] == "00" or code[4:6] == "00":
        out.append(f"{what}: region code {code} is not a county-level code")
    return out


def check_province(doc: dict[str, Any], *, gates: int = 20) -> list[str]:
    problems = province_problems(doc)
    if not isinstance(doc, dict):
        return problems
    add = problems.append
    province = str(doc.get("province", {}).get("code", ""))
    if not _DIVISION.match(province) or province[2:] != "0000":
        add(f"province code {province!r} is not a GB/T 2260 province code")

    stations = {}
    for s in doc.get("stations", []):
        code = s.get("code")
        if code in stations:
            add(f"station {code}: duplicate code")
        stations[code] = s
        if not isinstance(code, str) or not _STATION.match(code):
            add(f"station {code!r}: code is not nine digits")
        elif code[:6] != s.get("region_code"):
            add(f"station {code}: code does not start with its region code {s.get('region_code')}")
        problems.extend(_division_problems(s.get("region_code"), province, f"station {code}"))
        name, initials = s.get("name") or "", s.get("pinyin") or ""
        if not _INITIALS.match(initials) or len(initials) != len(name):
            add(
                f"station {code}: pinyin {initials!r} is not one upper-case initial per character of {name!r}"
            )
        if not s.get("city"):
            add(f"station {code}: no city")
    names = [s.get("name") for s in stations.values()]
    if len(set(names)) != len(names):
        add("station names are not unique")
    if doc.get("home_station") not in stations:
        add(f"home station {doc.get('home_station')!r} is not a station")

    classes = {}
    for v in doc.get("vehicle_classes", []):
        if v.get("code") in classes:
            add(f"vehicle class {v.get('code')}: duplicate code")
        classes[v.get("code")] = v

    routes = {}
    for r in doc.get("routes", []):
        code = r.get("code")
        if code in routes:
            add(f"route {code}: duplicate code")
        stops = r.get("stops") or []
        routes[code] = [st.get("station") for st in stops]
        where = f"route {code}"
        if len(stops) < 2:
            add(f"{where}: fewer than two stops")
            continue
        if [st.get("seq") for st in stops] != list(range(len(stops))):
            add(f"{where}: stop seq is not 0, 1, 2, ...")
        kms = [st.get("km") for st in stops]
        if kms[0] != 0 or any(not isinstance(k, int) for k in kms) or any(b <= a for a, b in pairwise(kms)):
            add(f"{where}: km does not start at 0 and strictly increase: {kms}")
        if r.get("origin") != stops[0].get("station"):
            add(f"{where}: origin is not the first stop")
        if r.get("via") != routes[code][1:-1]:
            add(f"{where}: via does not list the intermediate stops")
        if len(set(routes[code])) != len(routes[code]):
            add(f"{where}: a station appears twice")
        for st in routes[code]:
            if st not in stations:
                add(f"{where}: stop {st} is not a station")

    priced = set()
    for f in doc.get("fares", []):
        route, frm, to, vc = f.get("route"), f.get("from"), f.get("to"), f.get("vehicle_class")
        where = f"fare {route} {frm}->{to} {vc}"
        key = (route, frm, to, vc)
        if key in priced:
            add(f"{where}: duplicate")
        priced.add(key)
        stops = routes.get(route)
        if stops is None:
            add(f"{where}: no such route")
        elif frm not in stops or to not in stops:
            add(f"{where}: stop not on the route")
        elif stops.index(frm) >= stops.index(to):
            add(f"{where}: boarding stop is not before the alighting stop")
        if vc not in classes:
            add(f"{where}: no such vehicle class")

    ids, per_day = set(), set()
    for d in doc.get("departures", []):
        did = d.get("id")
        where = f"departure {did}"
        if did in ids:
            add(f"{where}: duplicate id")
        ids.add(did)
        if (d.get("date"), d.get("schedule_code")) in per_day:
            add(f"{where}: schedule code used twice on {d.get('date')}")
        per_day.add((d.get("date"), d.get("schedule_code")))
        route, vc = d.get("route"), d.get("vehicle_class")
        if route not in routes:
            add(f"{where}: no such route {route!r}")
        if vc not in classes:
            add(f"{where}: no such vehicle class {vc!r}")
        elif d.get("seats") != classes[vc].get("seats"):
            add(f"{where}: seats {d.get('seats')} differ from its class's {classes[vc].get('seats')}")
        if route in routes and (route, routes[route][0], routes[route][-1], vc) not in priced:
            add(f"{where}: no fare for its route and vehicle class")
        # The schema lets a loader take any gate text; the generator numbers its gates.
        if not isinstance(d.get("gate"), int) or not 1 <= d["gate"] <= gates:
            add(f"{where}: gate {d.get('gate')!r} outside 1..{gates}")

    codes = []
    for t in doc.get("ticket_types", []):
        missing = set(TICKET_TYPE_FIELDS) - set(t)
        if missing:
            add(f"ticket type {t.get('code')}: missing {sorted(missing)}")
        codes.append(t.get("code"))
    if len(set(codes)) != len(codes):
        add("ticket type codes are not unique")
    refund = doc.get("refund_policy", {})
    tiers = [t.get("min_minutes_before") for t in refund.get("tiers", [])]
    if not tiers or tiers != sorted(tiers, reverse=True):
        add("refund tiers are missing or not ordered from earliest to latest")
    for key in ("minimum_fee", "rounding", "forced_fee"):
        if key not in refund:
            add(f"refund policy: missing {key}")
    for key in ("max_changes", "cutoff_minutes", "fee"):
        if key not in doc.get("change_policy", {}):
            add(f"change policy: missing {key}")
    return problems
