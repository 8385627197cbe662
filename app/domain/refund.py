"""Refund fees (退票费), tiered by how long before departure the ticket is returned.

A tier applies from ``min_minutes_before`` minutes before departure (negative: after departure)
until the next tier starts. The fee is ``rate × price``, rounded, at least ``minimum_fee`` and
never more than the price. A forced refund (强退, e.g. a cancelled bus) costs ``forced_fee``
(0 by default) at any time; who may force one is a matter for the services. A conflict refund
(冲突退票: the provincial server gave the passenger's seat or departure to no one, or to someone
else, after this terminal sold it) costs ``conflict_fee`` (0 by default) at any time: the passenger
did nothing wrong, and the server's ruling is the authority, so no supervisor is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from ._time import minutes_label, require_aware
from .errors import ConfigError, RuleViolation
from .money import ROUNDING_MODES, Rounding, apply_rate, to_decimal


@dataclass(frozen=True, slots=True)
class RefundTier:
    min_minutes_before: int
    rate_percent: Decimal
    label: str = ""
    label_en: str = ""

    def __post_init__(self):
        object.__setattr__(self, "rate_percent", to_decimal(self.rate_percent))


def _labels(minutes: int, next_start: int | None) -> tuple[str, str]:
    """Chinese and English names of the tier starting ``minutes`` before departure and ending
    where the tier starting ``next_start`` (the next earlier one) begins."""
    if minutes > 0:
        return f"发车前 {minutes_label(minutes)}以上", f"{minutes} min or more before departure"
    if minutes == 0:
        if next_start is not None and next_start > 0:
            return f"发车前 {minutes_label(next_start)}内", f"less than {next_start} min before departure"
        return "发车前", "before departure"
    return f"发车后 {minutes_label(-minutes)}内", f"up to {-minutes} min after departure"


@dataclass(frozen=True)
class RefundPolicy:
    """Tiers (any order; kept sorted latest-start first), minimum fee, rounding.

    ``allow_after_minutes``: how long after departure a refund is still accepted; ``None`` means
    as far as the last tier reaches (0 when no tier is negative).
    """

    tiers: tuple[RefundTier, ...]
    minimum_fee: int = 100
    rounding: Rounding = Rounding.HALF_YUAN
    allow_after_minutes: int | None = None
    forced_fee: int = 0
    rounding_mode: str = "half_up"
    conflict_fee: int = 0
    _sorted: tuple[RefundTier, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        tiers = tuple(t if isinstance(t, RefundTier) else RefundTier(*t) for t in self.tiers)
        if not tiers:
            raise ConfigError("退票费率表为空", en="The refund policy has no tiers", code="BAD_REFUND_POLICY")
        starts = [t.min_minutes_before for t in tiers]
        if len(set(starts)) != len(starts):
            raise ConfigError(
                "退票费率表有重复的时间档", en="The refund policy repeats a tier", code="BAD_REFUND_POLICY"
            )
        for tier in tiers:
            if tier.rate_percent < 0 or tier.rate_percent > 100:
                raise ConfigError(
                    f"退票费率超出 0–100%：{tier.rate_percent}",
                    en=f"Refund rate outside 0-100%: {tier.rate_percent}",
                    code="BAD_REFUND_POLICY",
                )
        if self.minimum_fee < 0 or self.forced_fee < 0 or self.conflict_fee < 0:
            raise ConfigError(
                "退票费不能为负数", en="A refund fee cannot be negative", code="BAD_REFUND_POLICY"
            )
        if self.rounding_mode not in ROUNDING_MODES:
            raise ConfigError(
                f"未知的取整方式：{self.rounding_mode}",
                en=f"Unknown rounding mode: {self.rounding_mode}",
                code="BAD_REFUND_POLICY",
            )
        object.__setattr__(self, "tiers", tiers)
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        ordered = sorted(tiers, key=lambda t: t.min_minutes_before, reverse=True)
        for index, tier in enumerate(ordered):
            earlier = ordered[index - 1].min_minutes_before if index else None
            zh, en = _labels(tier.min_minutes_before, earlier)
            ordered[index] = replace(tier, label=tier.label or zh, label_en=tier.label_en or en)
        ordered = tuple(ordered)
        object.__setattr__(self, "_sorted", ordered)
        if self.allow_after_minutes is None:
            object.__setattr__(self, "allow_after_minutes", max(0, -ordered[-1].min_minutes_before))

    @classmethod
    def default(cls) -> RefundPolicy:
        """≥ 2 h before: 10 %; < 2 h: 20 %; up to 30 min after departure: 50 %; later refused.
        Minimum fee 1 yuan, fees rounded half-up to 0.5 yuan."""
        return cls(
            tiers=(
                RefundTier(120, Decimal(10)),
                RefundTier(0, Decimal(20)),
                RefundTier(-30, Decimal(50)),
            ),
            minimum_fee=100,
            rounding=Rounding.HALF_YUAN,
            allow_after_minutes=30,
        )

    @classmethod
    def from_dict(cls, data: Mapping) -> RefundPolicy:
        """From the province document's ``refund_policy``:
        ``{tiers: [{min_minutes_before, rate_percent, label?}], minimum_fee, rounding, forced_fee,
        allow_after_minutes?, conflict_fee?}``."""
        try:
            tiers = tuple(
                RefundTier(
                    int(t["min_minutes_before"]),
                    to_decimal(t["rate_percent"]),
                    str(t.get("label", "")),
                    str(t.get("label_en", "")),
                )
                for t in data["tiers"]
            )
            allow_after = data.get("allow_after_minutes")
            return cls(
                tiers=tiers,
                minimum_fee=int(data.get("minimum_fee", 0)),
                rounding=Rounding(data.get("rounding", "fen")),
                allow_after_minutes=None if allow_after is None else int(allow_after),
                forced_fee=int(data.get("forced_fee", 0)),
                rounding_mode=str(data.get("rounding_mode", "half_up")),
                conflict_fee=int(data.get("conflict_fee", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"退票规则无效：{exc}", en=f"Invalid refund policy: {exc}", code="BAD_REFUND_POLICY"
            ) from None

    def tier_at(self, seconds_before: float) -> RefundTier | None:
        for tier in self._sorted:
            if seconds_before >= tier.min_minutes_before * 60:
                return tier
        return None


@dataclass(frozen=True, slots=True)
class RefundQuote:
    fee: int
    refund_amount: int
    tier_label: str
    rate_percent: Decimal
    forced: bool = False
    tier_label_en: str = ""
    conflict: bool = False


def quote_refund(
    price: int, departure_at: datetime, now: datetime, policy: RefundPolicy, forced: bool = False,
    conflict: bool = False,
) -> RefundQuote:
    """What a refund of a ticket sold for ``price`` fen costs now; ``REFUND_TOO_LATE`` past the
    last tier or the after-departure limit."""
    require_aware(departure_at=departure_at, now=now)
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise ValueError(f"price must be non-negative int fen, not {price!r}")
    if conflict:
        fee = min(policy.conflict_fee, price)
        return RefundQuote(
            fee, price - fee, "冲突退票", Decimal(0), tier_label_en="Conflict refund", conflict=True
        )
    if forced:
        fee = min(policy.forced_fee, price)
        return RefundQuote(
            fee, price - fee, "强制退票", Decimal(0), forced=True, tier_label_en="Forced refund"
        )
    seconds_before = (departure_at - now).total_seconds()
    tier = policy.tier_at(seconds_before)
    if tier is None or seconds_before < -policy.allow_after_minutes * 60:
        after = policy.allow_after_minutes
        limit_zh = f"发车后 {minutes_label(after)}" if after else "发车"
        limit_en = f"{after} min after departure" if after else "departure"
        raise RuleViolation(
            f"已超过退票时限（{limit_zh}），不能退票",
            en=f"Too late to refund (the limit is {limit_en})",
            code="REFUND_TOO_LATE",
            allow_after_minutes=after,
        )
    fee = apply_rate(price, tier.rate_percent, policy.rounding, policy.rounding_mode)
    fee = min(max(fee, policy.minimum_fee), price)
    return RefundQuote(fee, price - fee, tier.label, tier.rate_percent, tier_label_en=tier.label_en)
