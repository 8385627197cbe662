"""Change (改签) to another departure: how often, until when, and what is settled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._time import minutes_label, require_aware
from .errors import ConfigError, RuleViolation


@dataclass(frozen=True, slots=True)
class ChangePolicy:
    """``max_changes`` per ticket; allowed until ``cutoff_minutes`` before the original
    departure; ``fee`` in fen per change."""

    max_changes: int = 1
    cutoff_minutes: int = 30
    fee: int = 0

    def __post_init__(self):
        if self.max_changes < 0 or self.fee < 0:
            raise ConfigError("改签规则无效", en="Invalid change policy", code="BAD_CHANGE_POLICY")

    @classmethod
    def from_dict(cls, data: Mapping) -> ChangePolicy:
        """From the province document's ``change_policy``: ``{max_changes, cutoff_minutes, fee}``."""
        try:
            return cls(
                int(data.get("max_changes", 1)), int(data.get("cutoff_minutes", 30)), int(data.get("fee", 0))
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"改签规则无效：{exc}", en=f"Invalid change policy: {exc}", code="BAD_CHANGE_POLICY"
            ) from None


@dataclass(frozen=True, slots=True)
class ChangeQuote:
    fare_difference: int  # positive: the passenger pays the difference; negative: gets it back
    fee: int
    due: int  # fare_difference + fee; negative: the counter pays out

    @property
    def payout(self) -> int:
        return max(0, -self.due)


def quote_change(
    old_price: int,
    new_price: int,
    times_changed: int,
    departure_at: datetime,
    now: datetime,
    policy: ChangePolicy,
) -> ChangeQuote:
    """Settle a change from a ticket sold for ``old_price`` to one costing ``new_price``.

    ``departure_at`` is the original ticket's departure. Refusals: ``CHANGE_LIMIT``,
    ``CHANGE_CUTOFF``.
    """
    require_aware(departure_at=departure_at, now=now)
    if times_changed >= policy.max_changes:
        raise RuleViolation(
            f"该票已改签 {times_changed} 次，最多 {policy.max_changes} 次",
            en=f"This ticket has been changed {times_changed} time(s); the limit is {policy.max_changes}",
            code="CHANGE_LIMIT",
            times_changed=times_changed,
            limit=policy.max_changes,
        )
    if now > departure_at - timedelta(minutes=policy.cutoff_minutes):
        cutoff = policy.cutoff_minutes
        zh = (
            f"发车前 {minutes_label(cutoff)}"
            if cutoff > 0
            else ("发车时" if cutoff == 0 else f"发车后 {minutes_label(-cutoff)}")
        )
        raise RuleViolation(
            f"已过改签截止时间（{zh}）",
            en=f"Too late to change (changes close {cutoff} min before departure)",
            code="CHANGE_CUTOFF",
            cutoff_minutes=cutoff,
        )
    difference = new_price - old_price
    return ChangeQuote(difference, policy.fee, difference + policy.fee)
