"""What a scanner delivers: one complete code, or a reported failure (never a guessed code)."""

from __future__ import annotations

from dataclasses import dataclass

# reason -> (message for the gate checker, English)
PROBLEMS: dict[str, tuple[str, str]] = {
    "non_printable": ("扫码内容含有乱码，请重新扫码", "the code contains non-printable characters"),
    "undecodable": ("扫码内容无法识别，请检查扫码枪的编码设置", "the code bytes are not valid text in the expected encoding"),
    "partial": ("扫码不完整，请重新扫码", "the code stopped before its end (no terminator)"),
    "mixed_timing": ("扫码被打断或混入了键盘输入，请重新扫码", "a scanner burst was interrupted or mixed with typing"),
    "too_long": ("扫码内容过长，请重新扫码", "the code is longer than any code we expect"),
}


@dataclass(frozen=True)
class Scan:
    """``ok`` scans carry ``code``; failed ones carry ``reason`` and what arrived in ``raw``."""

    code: str = ""
    reason: str = ""
    raw: str = ""
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def message(self) -> str:
        return PROBLEMS[self.reason][0] if self.reason else ""

    @property
    def en(self) -> str:
        return PROBLEMS[self.reason][1] if self.reason else ""


def good(code: str, source: str) -> Scan:
    return Scan(code=code, raw=code, source=source)


def bad(reason: str, raw: str, source: str) -> Scan:
    return Scan(reason=reason, raw=raw, source=source)


def printable(text: str) -> bool:
    return bool(text) and all(ch.isprintable() for ch in text)
