"""Shared by the printer tests: a sample ticket and small image probes."""

from __future__ import annotations

SAMPLE_TICKET = {
    "station": "杭州汽车客运中心",
    "stock_no": "B2026001234",
    "origin": "杭州",
    "destination": "宁波（南站）",
    "date": "2026-11-24",
    "time": "14:05",
    "schedule_code": "K2207",
    "seat": 7,
    "ticket_type": "儿童票",
    "price": 6350,
    "insurance": 300,
    "insurance_name": "乘意险",
    "vehicle_class": "中型高级",
    "gate": "5",
    "clerk": "S012",
    "passenger_name": "李·小明",
    "passenger_doc": "330102********0023",
    "ticket_id": "330102001-T02-004711",
    "sold_at": "2026-11-24 09:41",
    "ticket_code": "KZ1.330102001-T02-004711.3q2Zx9Lk0PfY",
}


def ink_rows(img) -> list[int]:
    """Number of black pixels in each row of a mode "1" image."""
    gray = img.convert("L")
    w, h = gray.size
    data = gray.tobytes()
    return [w - sum(1 for v in data[y * w : (y + 1) * w] if v) for y in range(h)]


def ink_bands(img) -> list[tuple[int, int]]:
    """(top, bottom) of each run of rows with ink."""
    bands = []
    start = None
    for y, n in enumerate(ink_rows(img) + [0]):
        if n and start is None:
            start = y
        elif not n and start is not None:
            bands.append((start, y))
            start = None
    return bands


def find_rows(haystack, needle) -> int | None:
    """The y where ``needle`` (same width) appears pixel for pixel in ``haystack``, or None."""
    from PIL import ImageChops

    h = needle.height
    for y in range(0, haystack.height - h + 1):
        if (
            ImageChops.difference(
                haystack.crop((0, y, haystack.width, y + h)).convert("L"), needle.convert("L")
            ).getbbox()
            is None
        ):
            return y
    return None


def ink_bbox(img):
    """Bounding box of the ink in a mode "1" image (black = 0)."""
    from PIL import ImageOps

    return ImageOps.invert(img.convert("L")).getbbox()
