"""Printer status from the DLE EOT real-time replies, read by us.

python-escpos's ``paper_status()`` says "paper adequate" when the printer did not answer at all,
so we send the queries and read the one-byte replies ourselves, each against a deadline.

Every reply byte has bit 1 and bit 4 set and bits 0 and 7 clear (``byte & 0x93 == 0x12``);
anything else is not a status reply (automatic status back, garbage) and counts as no answer.

==========  =====================================================================
query       bits we read
==========  =====================================================================
DLE EOT 1   bit 3: offline
DLE EOT 2   bit 2: cover open · bit 5: stopped at paper end · bit 6: an error occurred
DLE EOT 3   bit 3: auto-cutter error · bit 5: unrecoverable error · bit 6: auto-recoverable error
            (only asked when DLE EOT 2 reports an error)
DLE EOT 4   bits 2+3: paper near end · bits 5+6: paper out
==========  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

REPLY_MASK = 0x93
REPLY_FIXED = 0x12

_MESSAGES = {
    "no_answer": ("printer did not answer the status query", "打印机无状态应答"),
    "paper_out": ("paper out", "打印机缺纸"),
    "paper_near_end": ("paper near end", "打印纸将尽"),
    "cover_open": ("cover open", "打印机盖未关"),
    "offline": ("printer offline", "打印机脱机"),
    "cutter_error": ("cutter error", "切刀故障"),
    "unrecoverable_error": ("unrecoverable printer error", "打印机严重故障"),
    "recoverable_error": ("printer error (recovers by itself)", "打印机暂时故障"),
}


def is_reply(byte: int | None) -> bool:
    return byte is not None and byte & REPLY_MASK == REPLY_FIXED


@dataclass
class PrinterStatus:
    """The printer's state as far as it answered. ``answered`` False means we know nothing."""

    answered: bool
    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    recoverable_error: bool = False
    raw: dict[int, int | None] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Answered, online, paper in, cover closed, no error. Near-end paper is still ready."""
        return self.answered and not (
            self.offline
            or self.cover_open
            or self.paper_out
            or self.cutter_error
            or self.unrecoverable_error
            or self.recoverable_error
        )

    @property
    def conditions(self) -> list[str]:
        """Stable condition names, worst first; ``[]`` when ready, ``["no_answer"]`` when silent."""
        if not self.answered:
            return ["no_answer"]
        order = [
            "paper_out",
            "cover_open",
            "cutter_error",
            "unrecoverable_error",
            "recoverable_error",
            "offline",
            "paper_near_end",
        ]
        found = [name for name in order if getattr(self, name)]
        # Paper out and cover open both take the printer offline; say the cause only.
        if "offline" in found and len([f for f in found if f not in ("offline", "paper_near_end")]) > 0:
            found.remove("offline")
        # The near-end sensor is of course also past its mark when the paper is out.
        if "paper_out" in found and "paper_near_end" in found:
            found.remove("paper_near_end")
        return found

    def message(self, language: str = "en") -> str:
        english = language.startswith("en")
        if self.ready:
            parts = ["ready" if english else "打印机就绪"]
            if self.paper_near_end:
                parts.append(_MESSAGES["paper_near_end"][0 if english else 1])
        else:
            parts = [_MESSAGES[c][0 if english else 1] for c in self.conditions]
        return ", ".join(parts) if english else "，".join(parts)

    def text(self, language: str = "zh_CN") -> str:
        """The status in ``language``, as errors give theirs (Chinese unless it starts with "en")."""
        return self.message(language)

    def to_dict(self) -> dict:
        return {
            "answered": self.answered,
            "ready": self.ready,
            "conditions": self.conditions,
            "offline": self.offline,
            "cover_open": self.cover_open,
            "paper_out": self.paper_out,
            "paper_near_end": self.paper_near_end,
            "cutter_error": self.cutter_error,
            "unrecoverable_error": self.unrecoverable_error,
            "recoverable_error": self.recoverable_error,
            "raw": {str(k): v for k, v in self.raw.items()},
            "message": self.message("en"),
            "message_zh": self.message("zh"),
        }


def parse_status(
    printer: int | None,
    offline_cause: int | None,
    paper: int | None,
    error_cause: int | None = None,
) -> PrinterStatus:
    """Classify the DLE EOT 1/2/4 (and optionally 3) reply bytes; ``None`` = no reply."""
    raw = {1: printer, 2: offline_cause, 3: error_cause, 4: paper}
    valid = {n: b for n, b in raw.items() if is_reply(b)}
    # Without the printer status byte we cannot claim to know anything.
    if 1 not in valid:
        return PrinterStatus(answered=False, raw=raw)
    st = PrinterStatus(answered=True, raw=raw)
    st.offline = bool(valid[1] & 0x08)
    if 2 in valid:
        st.cover_open = bool(valid[2] & 0x04)
        st.paper_out = bool(valid[2] & 0x20)
        error_flag = bool(valid[2] & 0x40)
    else:
        error_flag = False
    if 4 in valid:
        st.paper_near_end = bool(valid[4] & 0x0C)
        st.paper_out = st.paper_out or bool(valid[4] & 0x60)
    if 3 in valid:
        st.cutter_error = bool(valid[3] & 0x08)
        st.unrecoverable_error = bool(valid[3] & 0x20)
        st.recoverable_error = bool(valid[3] & 0x40)
    elif error_flag:
        st.unrecoverable_error = True  # an error the printer did not explain
    return st
