"""The numbers docs/protocol.md quotes: lease sizes and lifetimes, code validity, batch and page limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass
class Settings:
    zone: str = "Asia/Shanghai"
    lease_ttl: timedelta = timedelta(minutes=30)
    lease_block: int = 5  # seats a top-up aims at when the terminal names no number
    lease_max: int = 20  # most unsold seats one terminal may hold on one departure
    # Seats of each departure never leased, kept in the pool for online sales (a window's seat request,
    # the web): with more windows than a bus has seats over its top-up, the first few windows' leases
    # would otherwise hold the whole bus and every other window and the web find it sold out.
    lease_pool_percent: int = 0
    lease_cutoff: timedelta = timedelta(minutes=30)  # leases end this long before departure
    seat_hold: timedelta = timedelta(minutes=2)  # a specific-seat grant after the cut-off
    enrol_code_ttl: timedelta = timedelta(hours=24)
    max_batch: int = 1000
    feed_page_max: int = 5000
    tombstone_retention: timedelta = timedelta(days=7)
    max_body_bytes: int = 8 * 1024 * 1024
