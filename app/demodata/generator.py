"""Build a province document (``kezhan-province/1``) from a recipe of real places.

The recipe (``resources/demo/zhejiang.json``) holds what must be true: the province's cities and
counties with their GB/T 2260 codes, the home station, the rule tables. Everything else — routes,
fares, the timetable, the days' departures and, at scale, synthetic towns — is derived here from
those facts and a seed, so the same arguments always give the same document.

Randomness comes from ``random.Random`` seeded with strings (hashed with SHA-512 by the standard
library, so independent of ``PYTHONHASHSEED``), one stream per concern. A day's departures depend
only on the seed, the timetable and that day's date: asking for more days, or starting a day
later, leaves the overlapping days unchanged.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin

FORMAT = "kezhan-province/1"
RECIPE_FORMAT = "kezhan-demo-recipe/1"
# Resolved from this file rather than through app.paths: the generator may import only app.domain.
DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "resources" / "demo" / "zhejiang.json"

_SUFFIXES = ("畲族自治县", "自治县", "区", "县", "市")
_SERIAL_LIMIT = 999


def load_recipe(recipe: dict | str | Path | None = None) -> dict:
    """The recipe as a dict: the shipped Zhejiang one, a file, or a dict (copied, never mutated)."""
    if recipe is None:
        recipe = DEFAULT_RECIPE
    if isinstance(recipe, (str, Path)):
        with open(recipe, encoding="utf-8") as fh:
            recipe = json.load(fh)
    if not isinstance(recipe, dict) or recipe.get("format") != RECIPE_FORMAT:
        raise ValueError(f"not a {RECIPE_FORMAT} recipe")
    return copy.deepcopy(recipe)


def initials(name: str, overrides: dict[str, str] | None = None) -> str:
    """Upper-case pinyin initials (助记码) of a place name: 杭州 -> HZ.

    ``overrides`` maps place names (or parts of names) to their initials for characters whose
    place-name reading differs from pypinyin's choice (乐清 is Yueqing, not Leqing). The longest
    override matching at a position wins; the rest goes through pypinyin, which reads phrases as
    a whole.
    """
    overrides = overrides or {}
    keys = sorted(overrides, key=len, reverse=True)
    out: list[str] = []
    plain = ""
    i = 0
    while i < len(name):
        hit = next((k for k in keys if name.startswith(k, i)), None)
        if hit is None:
            plain += name[i]
            i += 1
            continue
        if plain:
            out.append(_pypinyin_initials(plain))
            plain = ""
        out.append(overrides[hit].upper())
        i += len(hit)
    if plain:
        out.append(_pypinyin_initials(plain))
    return "".join(out)


def _pypinyin_initials(text: str) -> str:
    return "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER)).upper()


def unambiguous_initial(char: str) -> str | None:
    """The initial of ``char`` if every reading pypinyin knows starts with the same letter.

    Synthetic names are drawn only from such characters, so their initials cannot depend on which
    reading a reader (or a pypinyin version) picks.
    """
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    letters = {r[:1].upper() for r in readings if r}
    return letters.pop() if len(letters) == 1 else None


def short_name(county_name: str) -> str:
    """The name a destination carries on a ticket: 乐清市 -> 乐清, 景宁畲族自治县 -> 景宁."""
    for suffix in _SUFFIXES:
        if county_name.endswith(suffix) and len(county_name) - len(suffix) >= 2:
            return county_name[: -len(suffix)]
    return county_name


@dataclass
class _Place:
    code: str
    name: str
    pinyin: str
    region_code: str
    city: str
    lat: float
    lon: float
    weight: float
    gates: list[int]
    county: _Place | None = None  # the county station a synthetic town hangs off
    route: _Route | None = None


@dataclass
class _Route:
    code: str
    stops: list[_Place]
    km: list[int]
    weight: float
    classes: list[str] = field(default_factory=list)

    @property
    def terminal(self) -> _Place:
        return self.stops[-1]


def _km(a: _Place, b: _Place, factor: float) -> int:
    """Road distance: great-circle distance times a detour factor, at least 1 km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return max(1, round(2 * 6371.0 * math.asin(math.sqrt(h)) * factor))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _county_weight(county: dict, city: dict, weights: dict) -> float:
    if "weight" in county:
        return float(county["weight"])
    if county["code"] == city.get("seat"):
        return float(weights["city_seat"])
    tail = int(county["code"][4:])
    if tail >= 81:
        return float(weights["county_city"])
    if tail >= 21:
        return float(weights["county"])
    return float(weights["district"])


def _real_places(recipe: dict) -> tuple[_Place, list[_Place]]:
    overrides = recipe.get("pinyin_overrides", {})
    home_spec = recipe["home_station"]
    home_city = next(c for c in recipe["cities"] if home_spec["county"].startswith(c["code"][:4]))
    home = _Place(
        code=f"{home_spec['county']}{home_spec['serial']:03d}",
        name=home_spec["name"],
        pinyin=initials(home_spec["name"], overrides),
        region_code=home_spec["county"],
        city=home_city["name"],
        lat=home_spec["lat"],
        lon=home_spec["lon"],
        weight=0.0,
        gates=[],
    )
    places = []
    for city in recipe["cities"]:
        for county in city["counties"]:
            if not county.get("station", True) or county["code"] == home.region_code:
                continue
            name = county.get("station_name") or short_name(county["name"])
            places.append(
                _Place(
                    code=f"{county['code']}001",
                    name=name,
                    pinyin=initials(name, overrides),
                    region_code=county["code"],
                    city=city["name"],
                    lat=county["lat"],
                    lon=county["lon"],
                    weight=_county_weight(county, city, recipe["weights"]),
                    gates=list(city["gates"]),
                )
            )
    return home, places


def _town_letters(recipe: dict) -> list[dict[str, list[str]]]:
    """For each position of a synthetic name, the usable characters grouped by initial."""
    pools = recipe["town_names"]
    out = []
    for key in ("first", "middle", "last"):
        by_letter: dict[str, list[str]] = {}
        for ch in dict.fromkeys(pools[key]):
            letter = unambiguous_initial(ch)
            if letter:
                by_letter.setdefault(letter, []).append(ch)
        out.append(by_letter)
    return out


def _towns(recipe: dict, hosts: list[_Place], count: int, taken: set[str], seed: int) -> list[_Place]:
    """``count`` synthetic towns spread over ``hosts`` with unique names, initials and codes.

    Initials are drawn from the set of all initial triples the pools can spell, without
    replacement, so uniqueness costs no retries and running out is detected up front.
    """
    rng = random.Random(f"{seed}:towns")
    letters = _town_letters(recipe)
    triples = [a + b + c for a in sorted(letters[0]) for b in sorted(letters[1]) for c in sorted(letters[2])]
    triples = [t for t in triples if t not in taken]
    if count > len(triples):
        raise ValueError(f"the recipe's town name pools can spell at most {len(triples)} synthetic towns")
    per_host_limit = _SERIAL_LIMIT - 1
    if count > per_host_limit * len(hosts):
        raise ValueError(
            f"at most {per_host_limit * len(hosts)} synthetic towns fit under the recipe's counties"
        )
    rng.shuffle(triples)

    # Busier counties get the extra towns when the count does not divide evenly.
    base, rest = divmod(count, len(hosts))
    ranked = sorted(range(len(hosts)), key=lambda i: (-hosts[i].weight, hosts[i].code))
    share = [base] * len(hosts)
    for i in ranked[:rest]:
        share[i] += 1

    lo, hi = recipe["town_names"]["radius_km"]
    weight = float(recipe["weights"]["town"])
    towns = []
    k = 0
    for host, n in zip(hosts, share, strict=True):
        for serial in range(2, n + 2):
            triple = triples[k]
            k += 1
            name = "".join(rng.choice(letters[pos][triple[pos]]) for pos in range(3))
            bearing = rng.uniform(0, 2 * math.pi)
            radius = rng.uniform(lo, hi) / 111.0
            towns.append(
                _Place(
                    code=f"{host.region_code}{serial:03d}",
                    name=name,
                    pinyin=triple,
                    region_code=host.region_code,
                    city=host.city,
                    lat=round(host.lat + radius * math.sin(bearing), 4),
                    lon=round(host.lon + radius * math.cos(bearing) / math.cos(math.radians(host.lat)), 4),
                    weight=weight,
                    gates=host.gates,
                    county=host,
                )
            )
    return towns


def _pick_via(home: _Place, dest: _Place, places: list[_Place], spec: dict) -> list[_Place]:
    factor = spec["road_factor"]
    direct = _km(home, dest, factor)
    candidates = []
    for p in places:
        if p is dest:
            continue
        a, b = _km(home, p, factor), _km(p, dest, factor)
        if a >= spec["via_min_km"] and b >= spec["via_min_km"] and a + b <= spec["via_detour"] * direct:
            candidates.append((-p.weight, a, p.code, p))
    chosen = [c[3] for c in sorted(candidates)[: spec["max_via"]]]
    return sorted(chosen, key=lambda p: (_km(home, p, factor), p.code))


def _cumulative(stops: list[_Place], factor: float) -> list[int]:
    km = [0]
    for a, b in pairwise(stops):
        km.append(km[-1] + _km(a, b, factor))
    return km


def _classes_for(km: int, recipe: dict) -> list[str]:
    for rule in recipe["class_by_km"]:
        if km >= rule["min_km"]:
            return list(rule["classes"])
    return list(recipe["class_by_km"][-1]["classes"])


def _build_routes(recipe: dict, home: _Place, real: list[_Place], towns: list[_Place]) -> list[_Route]:
    spec = recipe["distance"]
    factor = spec["road_factor"]
    routes: list[_Route] = []
    for dest in real:
        stops = [home, *_pick_via(home, dest, real, spec), dest]
        route = _Route(code="", stops=stops, km=_cumulative(stops, factor), weight=dest.weight)
        dest.route = route
        routes.append(route)

    per_route = recipe["timetable"]["towns_per_route"]
    by_host: dict[str, list[_Place]] = {}
    for town in towns:
        by_host.setdefault(town.county.code, []).append(town)
    for host_code in sorted(by_host):
        group = by_host[host_code]
        host = group[0].county
        # A bus out of the county seat runs to the nearest towns first, so each branch visits
        # its towns in nearest-next order.
        remaining = sorted(group, key=lambda t: (_km(host, t, factor), t.code))
        while remaining:
            chain: list[_Place] = []
            here = host
            while remaining and len(chain) < per_route:
                nxt = min(remaining, key=lambda t: (_km(here, t, factor), t.code))
                remaining.remove(nxt)
                chain.append(nxt)
                here = nxt
            stops = [*host.route.stops, *chain]
            route = _Route(
                code="", stops=stops, km=_cumulative(stops, factor), weight=sum(t.weight for t in chain)
            )
            for t in chain:
                t.route = route
            routes.append(route)

    for i, route in enumerate(routes, start=1):
        route.code = f"R{i:04d}"
        route.classes = _classes_for(route.km[-1], recipe)
    return routes


def _fare(km: int, vclass: dict, fares: dict) -> int:
    unit = fares["unit"]
    # Half-up rounding to the unit in integer fen: never a float near money.
    raw = km * vclass["fen_per_km"]
    return max(fares["floor"], (raw + unit // 2) // unit * unit)


def _allocate(total: int, routes: list[_Route]) -> list[int]:
    """Daily departures per route: one each for the busiest routes first, the rest by weight."""
    order = sorted(range(len(routes)), key=lambda i: (-routes[i].weight, routes[i].code))
    counts = [0] * len(routes)
    if total <= len(routes):
        for i in order[:total]:
            counts[i] = 1
        return counts
    counts = [1] * len(routes)
    rest = total - len(routes)
    weight_sum = sum(r.weight for r in routes) or 1.0
    quotas = [rest * r.weight / weight_sum for r in routes]
    for i, q in enumerate(quotas):
        counts[i] += int(q)
    left = total - sum(counts)
    rank = {i: n for n, i in enumerate(order)}
    by_remainder = sorted(order, key=lambda i: (-(quotas[i] - int(quotas[i])), rank[i]))
    for i in by_remainder[:left]:
        counts[i] += 1
    return counts


@dataclass
class _Schedule:
    code: str
    route: _Route
    minute: int
    vclass: str
    gate: int


def _timetable(recipe: dict, routes: list[_Route], regular: int, seed: int) -> list[_Schedule]:
    spec = recipe["timetable"]
    rng = random.Random(f"{seed}:timetable")
    first, last, step = _minutes(spec["first"]), _minutes(spec["last"]), spec["step_minutes"]
    span = last - first
    slots: list[tuple[int, str, int, _Route]] = []
    for route, k in zip(routes, _allocate(regular, routes), strict=True):
        for i in range(k):
            # One departure in each of k equal stretches of the day: evenly spread, yet a route
            # with a single bus a day may leave at any hour.
            at = (i + rng.random()) * span / k
            minute = first + round(at / step) * step
            slots.append((min(last, max(first, minute)), route.code, i, route))
    slots.sort(key=lambda s: s[:3])

    width = max(4, len(str(len(slots))))
    gate_turn: dict[str, int] = {}
    out = []
    for n, (minute, _, i, route) in enumerate(slots, start=1):
        gates = route.terminal.gates
        turn = gate_turn.get(route.terminal.city, 0)
        gate_turn[route.terminal.city] = turn + 1
        out.append(
            _Schedule(
                code=f"{spec['regular_prefix']}{n:0{width}d}",
                route=route,
                minute=minute,
                vclass=route.classes[i % len(route.classes)],
                gate=gates[turn % len(gates)],
            )
        )
    return out


def _day(
    recipe: dict,
    home: _Place,
    schedules: list[_Schedule],
    extra_routes: list[_Route],
    extras: int,
    day: date,
    seats: dict[str, int],
    seed: int,
) -> list[dict]:
    spec = recipe["timetable"]
    rng = random.Random(f"{seed}:day:{day.isoformat()}")
    iso, compact = day.isoformat(), day.strftime("%Y%m%d")
    first, last, step = _minutes(spec["first"]), _minutes(spec["last"]), spec["step_minutes"]

    status = ["normal"] * len(schedules)
    n_cancel = round(len(schedules) * spec["cancelled_share"])
    n_delay = round(len(schedules) * spec["delayed_share"])
    picked = rng.sample(range(len(schedules)), min(len(schedules), n_cancel + n_delay))
    for j, idx in enumerate(picked):
        status[idx] = "cancelled" if j < n_cancel else "delayed"

    rows = []
    for s, st in zip(schedules, status, strict=True):
        rows.append((s.minute, s.code, s.route, s.vclass, s.gate, st, False))

    extra_slots = []
    if extras and extra_routes:
        weights = [r.weight for r in extra_routes]
        for _ in range(extras):
            route = rng.choices(extra_routes, weights=weights)[0]
            minute = first + rng.randrange((last - first) // step + 1) * step
            extra_slots.append((minute, route.code, route))
        extra_slots.sort(key=lambda s: s[:2])
    width = max(3, len(str(len(extra_slots))))
    extra_gates = spec["extra_gates"]
    for n, (minute, _, route) in enumerate(extra_slots, start=1):
        code = f"{spec['extra_prefix']}{n:0{width}d}"
        rows.append(
            (minute, code, route, route.classes[0], extra_gates[(n - 1) % len(extra_gates)], "normal", True)
        )

    rows.sort(key=lambda r: (r[0], r[1]))
    return [
        {
            "id": f"{home.code}-{compact}-{code}",
            "schedule_code": code,
            "route": route.code,
            "date": iso,
            "time": _hhmm(minute),
            "vehicle_class": vclass,
            "seats": seats[vclass],
            "gate": gate,
            "status": st,
            "extra": extra,
            "stop_sale_minutes": spec["stop_sale_minutes"],
        }
        for minute, code, route, vclass, gate, st, extra in rows
    ]


def generate_province(
    recipe: dict | str | Path | None = None,
    *,
    start_date: date,
    days: int = 15,
    departures_per_day: int = 120,
    destinations: int | None = None,
    seed: int = 2026,
) -> dict[str, Any]:
    """The province document for ``days`` days from ``start_date``.

    ``destinations`` is the number of stations a passenger can buy a ticket to. ``None`` means
    the recipe's real places; fewer keeps the busiest; more adds synthetic towns under the real
    counties. Every day has exactly ``departures_per_day`` departures, extra buses included.
    """
    if not isinstance(start_date, date):
        raise TypeError("start_date must be a datetime.date")
    if days < 1:
        raise ValueError("days must be at least 1")
    if departures_per_day < 0:
        raise ValueError("departures_per_day must not be negative")
    if destinations is not None and destinations < 1:
        raise ValueError("destinations must be at least 1")
    recipe = load_recipe(recipe)

    home, real = _real_places(recipe)
    if destinations is not None and destinations < len(real):
        keep = {p.code for p in sorted(real, key=lambda p: (-p.weight, p.code))[:destinations]}
        real = [p for p in real if p.code in keep]
    towns: list[_Place] = []
    if destinations is not None and destinations > len(real):
        taken = {home.pinyin, *(p.pinyin for p in real)}
        towns = _towns(recipe, real, destinations - len(real), taken, seed)

    routes = _build_routes(recipe, home, real, towns)
    vclasses = {v["code"]: v for v in recipe["vehicle_classes"]}
    fares = []
    for route in routes:
        for vc in route.classes:
            for i in range(len(route.stops)):
                for j in range(i + 1, len(route.stops)):
                    fares.append(
                        {
                            "route": route.code,
                            "from": route.stops[i].code,
                            "to": route.stops[j].code,
                            "vehicle_class": vc,
                            "full_fare": _fare(route.km[j] - route.km[i], vclasses[vc], recipe["fares"]),
                        }
                    )

    spec = recipe["timetable"]
    extras = round(departures_per_day * spec["extra_share"])
    schedules = _timetable(recipe, routes, departures_per_day - extras, seed)
    # Extra buses relieve the busy lines: routes to county-level cities and larger.
    busy = [r for r in routes if r.weight >= recipe["weights"]["county_city"]] or routes
    seats = {code: v["seats"] for code, v in vclasses.items()}
    departures = []
    for d in range(days):
        departures.extend(
            _day(recipe, home, schedules, busy, extras, start_date + timedelta(days=d), seats, seed)
        )

    stations = sorted([home, *real, *towns], key=lambda p: p.code)
    return {
        "format": FORMAT,
        "province": dict(recipe["province"]),
        "home_station": home.code,
        "stations": [
            {"code": p.code, "name": p.name, "pinyin": p.pinyin, "region_code": p.region_code, "city": p.city}
            for p in stations
        ],
        "vehicle_classes": [
            {"code": v["code"], "name": v["name"], "seats": v["seats"]} for v in recipe["vehicle_classes"]
        ],
        "routes": [
            {
                "code": r.code,
                "name": f"{recipe['home_station']['short']}—{r.terminal.name}",
                "origin": home.code,
                "via": [p.code for p in r.stops[1:-1]],
                "stops": [
                    {"station": p.code, "seq": n, "km": km}
                    for n, (p, km) in enumerate(zip(r.stops, r.km, strict=True))
                ],
            }
            for r in routes
        ],
        "fares": fares,
        "departures": departures,
        "ticket_types": copy.deepcopy(recipe["ticket_types"]),
        "refund_policy": copy.deepcopy(recipe["refund_policy"]),
        "change_policy": copy.deepcopy(recipe["change_policy"]),
        "insurance": copy.deepcopy(recipe["insurance"]),
        **({"gate": copy.deepcopy(recipe["gate"])} if "gate" in recipe else {}),
    }


def demo_province(start_date: date) -> dict[str, Any]:
    """The default demo: the real places only, about 120 departures a day for 15 days."""
    return generate_province(start_date=start_date)


def demo_province_from_today(zone: str = "Asia/Shanghai") -> dict[str, Any]:
    """The default demo from today in ``zone``: what a reference server with no province of its own
    loads when the demo station or ``kezhan server`` hands it this as its fallback."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return demo_province(datetime.now(ZoneInfo(zone)).date())
