"""The province document (``kezhan-province/1``, docs/architecture.md): its one schema.

The terminal's loader (``app.store.province``), the demo generator's check
(``app.demodata.validate``) and the reference server's import (``sync.server.province``) all
validate a document with :func:`province_problems` or :func:`validate_province`, so the three
readers cannot drift apart. The schema says what each record must hold and of what type; it
does not cross-check records (a fare's stops against its route, a departure's class against the
classes), because the server also imports partial documents that name records it already has.
The demo generator adds those checks for its own output.

No I/O and no library: the schema is a table of field checks below, which accept what the
document's JSON holds in the lax way its readers always have (``"40"`` or ``40.0`` for 40 seats,
``"yes"`` for true: the rules of pydantic's lax mode, which read these documents before), and name
every field that breaks it, with pydantic's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FORMAT = "kezhan-province/1"
DEPARTURE_STATUSES = ("normal", "cancelled", "delayed", "boarding", "departed")
TICKET_TYPE_FIELDS = (
    "code",
    "name",
    "rate_percent",
    "needs_seat",
    "needs_adult",
    "counts_free_child_cap",
    "rounding",
    "document_required",
)


class ProvinceDocumentError(ValueError):
    """A document that does not follow the schema; ``problems`` lists every bad field."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# A check takes a value and its location (a tuple of keys and indexes) and returns the problems
# found, each (location, message). A record may carry fields a newer writer added: the readers
# ignore them.
Check = Callable[[Any, tuple], list[tuple[tuple, str]]]
_REQUIRED = object()
_INTEGER_TEXT = re.compile(r"\s*([+-]?\d+(?:_\d+)*)(?:\.0+)?\s*", re.ASCII)


def _number(value: Any, kind: type) -> Any:
    """``value`` as an int or a float the lax way, or a message saying why it is not one."""
    if isinstance(value, bool):
        return int(value) if kind is int else float(value)
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str) and kind is int:
        digits = _INTEGER_TEXT.fullmatch(value)
        if not digits:
            return "Input should be a valid integer, unable to parse string as an integer"
        number = int(digits.group(1))
    elif isinstance(value, str):
        try:
            number = float(value) if value.isascii() else None
        except ValueError:
            number = None
        if number is None:
            return "Input should be a valid number, unable to parse string as a number"
    else:
        return f"Input should be a valid {'integer' if kind is int else 'number'}"
    if kind is int and isinstance(number, float):
        if number != number or number in (float("inf"), float("-inf")):
            return "Input should be a finite number"
        if not number.is_integer():
            return "Input should be a valid integer, got a number with a fractional part"
        if abs(number) >= 2**63:
            return "Input should be a valid integer"
        number = int(number)
    return number


def _numeric(kind: type, *, ge: float | None = None, gt: float | None = None, le: float | None = None) -> Check:
    def check(value, loc):
        number = _number(value, kind)
        if isinstance(number, str):
            return [(loc, number)]
        for bound, ok, words in ((gt, lambda b: number > b, "greater than"),
                                 (ge, lambda b: number >= b, "greater than or equal to"),
                                 (le, lambda b: number <= b, "less than or equal to")):
            if bound is not None and not ok(bound):
                return [(loc, f"Input should be {words} {bound}")]
        return []
    return check


def _string(pattern: str | None = None) -> Check:
    compiled = re.compile(pattern) if pattern else None

    def check(value, loc):
        if not isinstance(value, str):
            return [(loc, "Input should be a valid string")]
        if compiled and not compiled.search(value):
            return [(loc, f"String should match pattern '{pattern}'")]
        return []
    return check


def _boolean(value, loc):
    if isinstance(value, bool) or (isinstance(value, int | float) and value in (0, 1)):
        return []
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "f", "t", "n", "y", "no", "yes", "off", "on",
                                                             "false", "true"):
        return []
    interpretable = isinstance(value, str | int)
    return [(loc, "Input should be a valid boolean" + (", unable to interpret input" if interpretable else ""))]


def _one_of(*choices: str) -> Check:
    words = ", ".join(repr(c) for c in choices[:-1]) + (" or " if len(choices) > 1 else "") + repr(choices[-1])

    def check(value, loc):
        return [] if isinstance(value, str) and value in choices else [(loc, f"Input should be {words}")]
    return check


def _optional(inner: Check) -> Check:
    return lambda value, loc: [] if value is None else inner(value, loc)


def _either(**members: Check) -> Check:
    """The first member that takes the value; otherwise every member's problem, under its name."""
    def check(value, loc):
        found = []
        for name, inner in members.items():
            problems = inner(value, (*loc, name))
            if not problems:
                return []
            found += problems
        return found
    return check


def _list(item: Check) -> Check:
    def check(value, loc):
        if not isinstance(value, list | tuple):
            return [(loc, "Input should be a valid list")]
        return [problem for i, element in enumerate(value) for problem in item(element, (*loc, i))]
    return check


def _mapping(value, loc):
    return [] if isinstance(value, dict) else [(loc, "Input should be a valid dictionary")]


def _record(model: str, /, **fields: tuple[Check, Any]) -> Check:
    """A JSON object with these fields, each (check, default); ``_REQUIRED`` for no default. A field
    named ``from_`` is read from the key ``from``."""
    def check(value, loc):
        if not isinstance(value, dict):
            return [(loc, f"Input should be a valid dictionary or instance of {model}")]
        found = []
        for field, (inner, default) in fields.items():
            key = "from" if field == "from_" else field
            if key in value:
                found += inner(value[key], (*loc, key))
            elif default is _REQUIRED:
                found.append(((*loc, key), "Field required"))
        return found
    return check


_TEXT = (_string(), _REQUIRED)
_Stop = _record("Stop", station=_TEXT, seq=(_numeric(int), _REQUIRED), km=(_numeric(int), _REQUIRED))
_percent = (_numeric(float, ge=0, le=100), None)
_minutes = (_numeric(int, ge=0, le=24 * 60), None)
_SCHEMA = _record(
    "ProvinceDocument",
    format=(_one_of(FORMAT), _REQUIRED),
    province=(_optional(_record("Province", code=_TEXT, name=_TEXT)), None),
    home_station=(_optional(_string()), None),
    stations=(_list(_record(
        "Station", code=_TEXT, name=_TEXT,
        pinyin=(_string(), ""),  # initials, upper case: "HZ" for 杭州
        region_code=(_optional(_string()), None),  # the station code's first six digits when absent
        city=(_string(), ""))), []),
    vehicle_classes=(_list(_record("VehicleClass", code=_TEXT, name=_TEXT, seats=(_numeric(int, ge=1), _REQUIRED))), []),
    routes=(_list(_record(
        "Route", code=_TEXT, name=_TEXT, origin=_TEXT,
        via=(_either(str=_string(), **{"list[str]": _list(_string())}), ""),
        stops=(_list(_Stop), _REQUIRED))), []),
    fares=(_list(_record(
        "Fare", route=_TEXT, from_=_TEXT, to=_TEXT, vehicle_class=_TEXT,
        full_fare=(_numeric(int, gt=0), _REQUIRED))), []),  # fen
    departures=(_list(_record(
        "Departure", id=_TEXT, schedule_code=_TEXT, route=_TEXT,
        date=(_string(r"^\d{4}-\d{2}-\d{2}$"), _REQUIRED),
        time=(_string(r"^([01]\d|2[0-3]):[0-5]\d$"), _REQUIRED),  # local to the station's zone
        vehicle_class=_TEXT,
        seats=(_numeric(int, ge=0), _REQUIRED),
        gate=(_optional(_either(int=_numeric(int), str=_string())), None),
        status=(_one_of(*DEPARTURE_STATUSES), "normal"),
        extra=(_boolean, False),
        stop_sale_minutes=(_numeric(int, ge=0), 0))), []),
    # The rules of a ticket type are checked by app.domain.ticket_types when they are used.
    ticket_types=(_list(_record("TicketType", code=_TEXT)), []),
    refund_policy=(_optional(_mapping), None),
    change_policy=(_optional(_mapping), None),
    insurance=(_optional(_mapping), None),
    # How the gate works at the province's stations (docs/gate.md); every field has a default.
    gate=(_optional(_record(
        "GateSettings",
        open_minutes=_minutes,  # 开检: minutes before departure
        late_minutes=_minutes,  # 补检: until minutes after departure
        station_fee_percent=_percent,  # 站务费, of the road bill's amount
        agency_fee_percent=_percent,  # 代理费
        free_child_cap_percent=_percent)), None),  # free children checked, of the seats
)


def province_problems(doc: Any) -> list[str]:
    """Every place ``doc`` breaks the schema, one readable line each (empty when it is valid)."""
    if not isinstance(doc, dict):
        return [f"a province document is a JSON object, not {type(doc).__name__}"]
    return [_describe(doc, {"loc": loc, "msg": message}) for loc, message in _SCHEMA(doc, ())]


def validate_province(doc: Any) -> None:
    """Raise :class:`ProvinceDocumentError` naming every bad field of ``doc``."""
    problems = province_problems(doc)
    if problems:
        raise ProvinceDocumentError(problems)


def _describe(doc: dict, error: dict) -> str:
    """``departures[3] (id 330102001-20261201-K0800).status: Input should be ...``: the path of
    the bad field, with the record's own id or code so a reader can find it in the file."""
    parts: list[str] = []
    node: Any = doc
    for step in error["loc"]:
        if isinstance(step, int):
            parts[-1] += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict):
                name = next((k for k in ("id", "code") if isinstance(node.get(k), str)), None)
                if name:
                    parts[-1] += f" ({name} {node[name]})"
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    where = ".".join(parts) or "document"
    return f"{where}: {error['msg']}"
