"""The province document (``kezhan-province/1``, docs/architecture.md): its one schema.

The terminal's loader (``app.store.province``), the demo generator's check
(``app.demodata.validate``) and the reference server's import (``sync.server.province``) all
validate a document with :func:`province_problems` or :func:`validate_province`, so the three
readers cannot drift apart. The schema says what each record must hold and of what type; it
does not cross-check records (a fare's stops against its route, a departure's class against the
classes), because the server also imports partial documents that name records it already has.
The demo generator adds those checks for its own output.

No I/O; pydantic is used as a value-type library. Importing this module loads pydantic, so
callers on a start-up path import it when a document arrives.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class _Record(BaseModel):
    # A record may carry fields a newer writer added; the readers ignore them.
    model_config = ConfigDict(extra="allow")


class Province(_Record):
    code: str
    name: str


class Station(_Record):
    code: str
    name: str
    pinyin: str = ""  # initials, upper case: "HZ" for 杭州
    region_code: str | None = None  # the station code's first six digits when absent
    city: str = ""


class VehicleClass(_Record):
    code: str
    name: str
    seats: int = Field(ge=1)


class Stop(_Record):
    station: str
    seq: int
    km: int


class Route(_Record):
    code: str
    name: str
    origin: str
    via: str | list[str] = ""
    stops: list[Stop]


class Fare(_Record):
    route: str
    from_: str = Field(alias="from")
    to: str
    vehicle_class: str
    full_fare: int = Field(gt=0)  # fen


class Departure(_Record):
    id: str
    schedule_code: str
    route: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local to the station's zone
    vehicle_class: str
    seats: int = Field(ge=0)
    gate: int | str | None = None
    status: Literal[DEPARTURE_STATUSES] = "normal"
    extra: bool = False
    stop_sale_minutes: int = Field(default=0, ge=0)


class GateSettings(_Record):
    """How the gate works at the province's stations (docs/gate.md); every field has a default."""

    open_minutes: int = Field(default=30, ge=0, le=24 * 60)  # 开检: minutes before departure
    late_minutes: int = Field(default=10, ge=0, le=24 * 60)  # 补检: until minutes after departure
    station_fee_percent: float = Field(default=10, ge=0, le=100)  # 站务费, of the road bill's amount
    agency_fee_percent: float = Field(default=0, ge=0, le=100)  # 代理费
    free_child_cap_percent: float = Field(default=10, ge=0, le=100)  # free children checked, of the seats


class TicketType(_Record):
    # The rules of a ticket type are checked by app.domain.ticket_types when they are used.
    code: str


class ProvinceDocument(_Record):
    format: Literal[FORMAT]
    province: Province | None = None
    home_station: str | None = None
    stations: list[Station] = []
    vehicle_classes: list[VehicleClass] = []
    routes: list[Route] = []
    fares: list[Fare] = []
    departures: list[Departure] = []
    ticket_types: list[TicketType] = []
    refund_policy: dict[str, Any] | None = None
    change_policy: dict[str, Any] | None = None
    insurance: dict[str, Any] | None = None
    gate: GateSettings | None = None


def province_problems(doc: Any) -> list[str]:
    """Every place ``doc`` breaks the schema, one readable line each (empty when it is valid)."""
    if not isinstance(doc, dict):
        return [f"a province document is a JSON object, not {type(doc).__name__}"]
    try:
        ProvinceDocument.model_validate(doc)
    except ValidationError as exc:
        return [_describe(doc, error) for error in exc.errors()]
    return []


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
