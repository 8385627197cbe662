"""The request bodies of the protocol as pydantic models: FastAPI checks them and the OpenAPI document
shows them. No ``from __future__ import annotations``: pydantic reads the annotations at run time."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# What a BIGINT column holds: a larger number is refused with the request, not by the database.
_MAX_INT = 2**63 - 1


class _Strict(BaseModel):
    # Strict: "7" is not 7. An event's hash covers its JSON exactly as the terminal wrote it.
    model_config = ConfigDict(strict=True, extra="forbid")


class EnrolRequest(_Strict):
    code: str = Field(description="one-time enrolment code issued by the station admin, e.g. ABCD-EFGH-JKMN")
    public_key: str = Field(description="the terminal's Ed25519 ticket-code public key, base64 of 32 raw bytes")
    label: str = Field("", description="free text shown to admins, e.g. the window number")


class Event(_Strict):
    model_config = ConfigDict(strict=True, extra="allow")
    terminal_id: str
    seq: int
    event_id: str
    type: str
    created_at: str
    payload: dict[str, Any]
    hash: str


class UploadRequest(_Strict):
    # Other members are ignored: terminals of an earlier release mark a batch "behind": true.
    model_config = ConfigDict(strict=True, extra="ignore")
    events: list[Event]


class LeaseWant(_Strict):
    departure_id: str
    seats: int | None = Field(None, ge=0, le=_MAX_INT, description="unsold seats the terminal wants to hold (top-up target)")


class LeaseRequest(_Strict):
    want: list[LeaseWant]


class ReleaseRequest(_Strict):
    departure_id: str | None = Field(None, description="the departure whose leased seats go back (with ``seats``: only those)")
    seats: list[Annotated[int, Field(ge=-_MAX_INT, le=_MAX_INT)]] | None = None
    departure_ids: list[str] | None = Field(
        None, max_length=1000, description="instead of departure_id: every leased seat of each of these departures, "
                                           "in one transaction (a terminal taken out of service)")


class SeatRequest(_Strict):
    departure_id: str
    seat_no: int | None = Field(None, ge=-_MAX_INT, le=_MAX_INT, description="a specific seat, or null for any free seat")


class KeyRequest(_Strict):
    public_key: str


class CodeRequest(_Strict):
    station: str
    label: str = ""
    # Finite and at most ten years: NaN, infinity or 1e308 hours is no validity a code can have.
    ttl_hours: float | None = Field(None, gt=0, le=24 * 3650, allow_inf_nan=False,
                                    description="validity in hours (default 24)")


class RevokeRequest(_Strict):
    drain_hours: float | None = Field(None, gt=0, le=24 * 3650, allow_inf_nan=False,
                                      description="let the terminal upload its unsent events first, for at most "
                                                  "this many hours (it may only upload meanwhile)")


class StatusRequest(_Strict):
    status: Literal["normal", "cancelled", "delayed", "boarding", "departed"]


class WebPassenger(_Strict):
    name: str
    doc_type: str = "resident_id"
    doc_number: str | None = None
    # Accepted from front ends that still send it, and not used: the server hashes the number itself
    # under its own key (docs/protocol.md § Passenger data).
    doc_hash: str | None = None
    ticket_type: str = "full"
    seat_no: int | None = Field(None, ge=-_MAX_INT, le=_MAX_INT)
    insurance: int = Field(0, ge=-_MAX_INT, le=_MAX_INT)


class WebOrder(_Strict):
    departure_id: str
    stop: str
    passengers: list[WebPassenger]
    payment: dict[str, Any] | None = None
