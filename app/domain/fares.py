"""Full fares per route, boarding stop, alighting stop and vehicle class.

The province document carries one row per (route, boarding, alighting, vehicle class); the fare
of a ticket is looked up, never computed from distances, because provinces publish fares that
are not a linear function of kilometres.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ConfigError, RuleViolation


@dataclass(frozen=True, slots=True)
class FareKey:
    route: str
    from_station: str
    to_station: str
    vehicle_class: str


class FareTable:
    """An immutable lookup of full fares in fen."""

    def __init__(self, fares: Mapping[FareKey, int] | None = None):
        self._fares: dict[FareKey, int] = {}
        for key, fen in (fares or {}).items():
            self._add(key, fen)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> FareTable:
        """Build from the province document's ``fares`` list:
        ``{route, from, to, vehicle_class, full_fare}`` with ``full_fare`` in fen."""
        table = cls()
        for index, row in enumerate(rows):
            try:
                key = FareKey(str(row["route"]), str(row["from"]), str(row["to"]), str(row["vehicle_class"]))
                fen = row["full_fare"]
            except (KeyError, TypeError):
                raise ConfigError(
                    f"票价表第 {index + 1} 行缺少字段",
                    en=f"Fare row {index + 1} is incomplete",
                    code="BAD_FARE_ROW",
                    row=index,
                ) from None
            table._add(key, fen, index)
        return table

    def _add(self, key: FareKey, fen, index: int | None = None) -> None:
        where = f"第 {index + 1} 行" if index is not None else str(key)
        if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
            raise ConfigError(
                f"票价表{where}票价不是非负整数（分）：「{fen}」",
                en=f"Fare {where if index is None else f'row {index + 1}'} is not a non-negative integer of fen: “{fen}”",
                code="BAD_FARE_ROW",
                row=index,
            )
        if key.from_station == key.to_station:
            raise ConfigError(
                f"票价表{where}上下车站相同",
                en=f"Fare row {key} boards and alights at the same stop",
                code="BAD_FARE_ROW",
                row=index,
            )
        existing = self._fares.get(key)
        if existing is not None and existing != fen:
            raise ConfigError(
                f"票价表{where}与之前的票价冲突",
                en=f"Fare row {key} contradicts an earlier row",
                code="BAD_FARE_ROW",
                row=index,
            )
        self._fares[key] = fen

    def lookup(self, route: str, boarding: str, alighting: str, vehicle_class: str) -> int:
        """The full fare in fen; ``NO_FARE`` when the province publishes none."""
        fen = self._fares.get(FareKey(route, boarding, alighting, vehicle_class))
        if fen is None:
            raise RuleViolation(
                f"没有票价：线路 {route}，{boarding} → {alighting}，车型 {vehicle_class}",
                en=f"No fare for route {route}, {boarding} -> {alighting}, vehicle class {vehicle_class}",
                code="NO_FARE",
                route=route,
                boarding=boarding,
                alighting=alighting,
                vehicle_class=vehicle_class,
            )
        return fen

    def destinations(self, route: str, boarding: str, vehicle_class: str) -> list[str]:
        """Stops with a fare from ``boarding`` on this route and vehicle class."""
        return sorted(
            key.to_station
            for key in self._fares
            if key.route == route and key.from_station == boarding and key.vehicle_class == vehicle_class
        )

    def __len__(self) -> int:
        return len(self._fares)

    def __contains__(self, key: object) -> bool:
        return key in self._fares

    def items(self):
        return self._fares.items()
