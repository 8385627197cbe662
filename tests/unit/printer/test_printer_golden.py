"""Byte-exact golden tickets, one per paper profile.

The golden files are in ``golden/``: ``ticket-<profile>.bin`` are compared byte for byte;
``ticket-<profile>.png`` are their pictures, kept for review (look at them after regenerating).
Regenerate after an intended layout change with

    KEZHAN_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/unit/printer/test_printer_golden.py

then look at the PNGs and commit both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.printer import get_profile, render_png, render_ticket
from drivers.printer.render import render_image
from tests.unit.printer.helpers import SAMPLE_TICKET, ink_bbox

GOLDEN = Path(__file__).parent / "golden"
PROFILES = ["58mm", "80mm", "preprinted"]


@pytest.mark.parametrize("profile", PROFILES)
def test_ticket_bytes_match_the_golden_file(profile):
    data = render_ticket(SAMPLE_TICKET, profile)
    bin_path = GOLDEN / f"ticket-{profile}.bin"
    if os.environ.get("KEZHAN_REGEN_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        bin_path.write_bytes(data)
        render_png(data, GOLDEN / f"ticket-{profile}.png", width=get_profile(profile).width_dots)
    assert bin_path.exists(), f"no golden file {bin_path}; regenerate (see the module doc)"
    assert data == bin_path.read_bytes(), f"ticket bytes for {profile} changed; regenerate if intended"
    # The reviewed picture is of these very bytes.
    assert (GOLDEN / f"ticket-{profile}.png").exists()


@pytest.mark.parametrize("profile", PROFILES)
def test_golden_ticket_picture_fills_the_paper_width(profile):
    prof = get_profile(profile)
    img = render_image((GOLDEN / f"ticket-{profile}.bin").read_bytes(), width=prof.width_dots)
    assert img.width == prof.width_dots
    left, top, right, bottom = ink_bbox(img)
    assert right - left > prof.width_dots * 0.8  # the rules / right-aligned values reach across


def test_the_profiles_differ_where_they_should():
    t58 = render_ticket(SAMPLE_TICKET, "58mm")
    t80 = render_ticket(SAMPLE_TICKET, "80mm")
    pre = render_ticket(SAMPLE_TICKET, "preprinted")
    assert b"=" * 32 + b"\n" in t58 and b"=" * 33 not in t58
    assert b"=" * 48 + b"\n" in t80
    assert t58.endswith(b"\x1dVB\x30") and t80.endswith(b"\x1dVA\x30")  # partial vs full cut
    assert b"\x1d(k" in t80 and b"\x1dv0" not in t80  # native QR
    assert b"\x1dv0" in pre and b"\x1d(k" not in pre  # image QR on pre-printed stock
    assert b"\x1b$" in pre and b"\x1bJ" in pre  # absolute positions, dot feeds
    assert b"\x1b$" not in t80
