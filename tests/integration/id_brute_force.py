"""The attack of issue 11 (finding 2) on masked ID numbers, as it works on what a terminal holds.

Whoever has a terminal's keys (its ``doc_hash_key``) and a masked number beside a keyed hash of it --
on a printed ticket, in the feed, in an export -- tries every birth date (and every region the mask
hides) that the visible characters leave, keeps those whose GB 11643 check character is the one shown,
and compares each candidate's hash under the terminal's key with the hash, prefix or tag shown. With
the region and the tail visible and a 64-bit prefix, exactly one number survives: the passenger's.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.domain.identity import document_hash

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"  # MOD 11-2: the check character for a weighted sum mod 11
_DATES: dict[tuple[int, int], list[tuple[str, int]]] = {}
MASK_IN_TEXT = re.compile(rb"(?<![0-9A-Za-z*])[0-9*]{14}[0-9*]{3}[0-9X](?![0-9A-Za-z*])")


def _dates(first_year: int, last_year: int) -> list[tuple[str, int]]:
    """Every birth date of the years, as YYYYMMDD with its share of the weighted sum (computed once)."""
    key = (first_year, last_year)
    if key not in _DATES:
        out, day, end = [], date(first_year, 1, 1), date(last_year, 12, 31)
        while day <= end:
            text = day.strftime("%Y%m%d")
            out.append((text, sum(int(c) * w for c, w in zip(text, _WEIGHTS[6:14], strict=True))))
            day += timedelta(days=1)
        _DATES[key] = out
    return _DATES[key]


def candidates(masked: str, shown_hash: str, key: bytes, *, regions: list[str],
               years: tuple[int, int] = (1900, 2026)) -> list[str]:
    """Every valid 18-digit number that fits ``masked`` (what the paper, feed or export shows) and whose
    document hash under ``key`` begins with ``shown_hash`` (a full hash, a 64-bit prefix or a tag).
    A region the mask shows is used; a hidden one is tried from ``regions`` (give the attacker the
    passenger's real region: a stronger attacker than any). The sequence digits the mask hides are
    not tried: every mask here shows them, so a count above one is no artefact of a short search."""
    assert len(masked) == 18 and shown_hash, (masked, shown_hash)
    tail = masked[14:17]
    assert tail.isdigit(), "the masks of this project show the sequence digits"
    check = masked[17]
    tried = [masked[:6]] if masked[:6].isdigit() else regions
    tail_sum = sum(int(c) * w for c, w in zip(tail, _WEIGHTS[14:17], strict=True))
    found = []
    for region in tried:
        head = sum(int(c) * w for c, w in zip(region, _WEIGHTS[:6], strict=True)) + tail_sum
        for born, share in _dates(*years):
            if _CHECK[(head + share) % 11] != check:
                continue
            number = f"{region}{born}{tail}{check}"
            if document_hash(key, "resident_id", number).startswith(shown_hash):
                found.append(number)
    return found
