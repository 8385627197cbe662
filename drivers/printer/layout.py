"""Tickets, road bills and settlement slips as ESC/POS bytes.

The ticket's layout is data (``resources/templates/ticket.json``); this module turns a template
and a plain dict of ticket fields into bytes for a printer profile. See docs/printing.md for the
field keys and the template format.
"""

from __future__ import annotations

import datetime
import json
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from drivers.printer import codes
from drivers.printer.encoder import display_width, encode_text, fit
from drivers.printer.errors import RenderError, TemplateError
from drivers.printer.qr import qr_matrix, qr_raster

DOTS_PER_MM = 8  # 203 dpi
TEMPLATE_FORMAT = "kezhan-ticket-template/1"
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "resources" / "templates" / "ticket.json"


@dataclass(frozen=True)
class Profile:
    """What a kind of printer and paper needs: width, QR method, cut, layout."""

    name: str
    width_dots: int
    columns: int  # Font A half-width columns across the paper
    qr: str  # "native" (GS ( k) or "image" (GS v 0 raster)
    cut: str  # "full" or "partial"
    layout: str  # "roll" or "preprinted"
    four_byte: bool = False  # the font has the four-byte GB18030 characters
    cut_feed: int = 48  # dots fed before the cut so the last line clears the blade
    # Pre-printed stock: where this printer's print line and left edge sit against the form, from
    # the calibration page (right and down positive). Roll paper has nothing to line up with.
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0

    @property
    def width_mm(self) -> int:
        return round(self.width_dots / DOTS_PER_MM)


PROFILES = {
    # 58 mm roll, 48 mm printable. Cheap 58 mm mechanisms with a cutter mostly cut partially.
    "58mm": Profile("58mm", 384, 32, "native", "partial", "roll"),
    # 80 mm roll, 72 mm printable.
    "80mm": Profile("80mm", 576, 48, "native", "full", "roll"),
    # Pre-printed ticket stock on an 80 mm mechanism: fields at fixed positions, partial cut at
    # the form's perforation. Older stock printers lack GS ( k, hence an image QR.
    "preprinted": Profile("preprinted", 576, 48, "image", "partial", "preprinted", cut_feed=0),
}


def get_profile(profile: str | Profile, **overrides: Any) -> Profile:
    if isinstance(profile, Profile):
        base = profile
    else:
        try:
            base = PROFILES[profile]
        except KeyError:
            raise TemplateError(
                f"未知的打印机配置「{profile}」",
                en=f"unknown printer profile “{profile}”; known: {', '.join(PROFILES)}",
                code="PRINTER_BAD_PROFILE",
            ) from None
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides.get("qr") not in (None, "native", "image"):
        raise TemplateError("二维码方式无效", en=f"qr must be native or image, not {overrides['qr']!r}")
    if overrides.get("cut") not in (None, "full", "partial"):
        raise TemplateError("切纸方式无效", en=f"cut must be full or partial, not {overrides['cut']!r}")
    return replace(base, **overrides) if overrides else base


# --- fields ----------------------------------------------------------------------------------

REQUIRED_FIELDS = (
    "stock_no",
    "origin",
    "destination",
    "date",
    "time",
    "schedule_code",
    "seat",
    "ticket_type",
    "price",
    "vehicle_class",
    "gate",
    "clerk",
    "ticket_code",
)
OPTIONAL_FIELDS = (
    "station",
    "insurance",
    "insurance_name",
    "passenger_name",
    "passenger_doc",
    "ticket_id",
    "sold_at",
    "notice",
)


def money(fen: Any) -> str:
    """Integer fen → ``￥12.50`` (the full-width sign every printer font has)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TemplateError(
            "金额必须为整数（分）", en=f"money must be integer fen, got {fen!r}", code="PRINTER_BAD_FIELD"
        )
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}￥{fen // 100}.{fen % 100:02d}"


def ticket_values(fields: dict) -> dict[str, str]:
    """The ticket's fields formatted for print (money as ￥, seat as 05 or 无座)."""
    if not isinstance(fields, dict):
        raise TemplateError("车票数据格式错误", en="ticket fields must be a dict", code="PRINTER_BAD_FIELD")
    missing = [k for k in REQUIRED_FIELDS if k not in fields]
    if missing:
        raise TemplateError(
            f"车票缺少字段：{', '.join(missing)}",
            en=f"ticket fields missing: {', '.join(missing)}",
            code="PRINTER_MISSING_FIELD",
        )
    values: dict[str, str] = {}
    for key, value in fields.items():
        if key == "price":
            values[key] = money(value)
        elif value is None:
            values[key] = ""
        elif key == "insurance":
            values[key] = money(value) if value else ""
        elif isinstance(value, datetime.datetime):
            values[key] = value.strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, datetime.date):
            values[key] = value.isoformat()
        elif isinstance(value, datetime.time):
            values[key] = value.strftime("%H:%M")
        else:
            values[key] = str(value)
    seat = fields.get("seat")
    if seat is None or seat == "":
        values["seat"] = "无座"
    elif isinstance(seat, int) and not isinstance(seat, bool):
        values["seat"] = f"{seat:02d}"
    for key in OPTIONAL_FIELDS:
        values.setdefault(key, "")
    if values.get("insurance") and not values.get("insurance_name"):
        values["insurance_name"] = "保险"
    return values


def _fill(text: str, values: dict[str, str]) -> str:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f]
    except ValueError as exc:
        raise TemplateError("票面模板格式错误", en=f"bad template text {text!r}: {exc}") from exc
    for name in names:
        if name not in values:
            raise TemplateError(
                f"票面模板字段 {name} 未知", en=f"template field {{{name}}} is not a ticket field"
            )
    return text.format_map(values)


# --- templates -------------------------------------------------------------------------------


def load_template(path: str | Path | None = None) -> dict:
    """Read and check a ticket template (``resources/templates/ticket.json`` by default)."""
    p = Path(path) if path else DEFAULT_TEMPLATE
    try:
        template = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"找不到票面模板：{p}", en=f"ticket template not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise TemplateError(f"票面模板无法读取：{p}", en=f"cannot read ticket template {p}: {exc}") from exc
    check_template(template)
    return template


_ROLL_KEYS = {
    "text",
    "left",
    "right",
    "rule",
    "qr",
    "barcode",
    "feed",
    "align",
    "size",
    "bold",
    "when",
    "module",
    "ec",
    "height",
    "enabled",
    "profiles",
}
_PRE_KEYS = {"text", "qr", "x", "y", "size", "bold", "when", "module", "ec", "profiles"}


def check_template(template: dict) -> None:
    if not isinstance(template, dict) or template.get("format") != TEMPLATE_FORMAT:
        raise TemplateError("票面模板格式不符", en=f"not a {TEMPLATE_FORMAT} template")
    roll = template.get("roll")
    if not isinstance(roll, list):
        raise TemplateError("票面模板缺少卷纸版式", en="template has no roll layout")
    for i, item in enumerate(roll):
        if not isinstance(item, dict) or set(item) - _ROLL_KEYS:
            raise TemplateError(f"票面模板第 {i} 项无效", en=f"roll item {i} has unknown keys: {item!r}")
        if "size" in item and item["size"] not in codes.SIZES:
            raise TemplateError(f"票面模板第 {i} 项字号无效", en=f"roll item {i}: unknown size {item['size']!r}")
        if "align" in item and item["align"] not in codes.ALIGNMENTS:
            raise TemplateError(
                f"票面模板第 {i} 项对齐无效", en=f"roll item {i}: unknown align {item['align']!r}"
            )
    pre = template.get("preprinted")
    if pre is not None:
        if not isinstance(pre, dict) or not isinstance(pre.get("items"), list):
            raise TemplateError("票面模板套打版式无效", en="preprinted layout needs items")
        for i, item in enumerate(pre["items"]):
            if not isinstance(item, dict) or set(item) - _PRE_KEYS or "x" not in item or "y" not in item:
                raise TemplateError(f"套打版式第 {i} 项无效", en=f"preprinted item {i} is invalid: {item!r}")
            if "size" in item and item["size"] not in codes.SIZES:
                raise TemplateError(f"套打版式第 {i} 项字号无效", en=f"preprinted item {i}: unknown size")


# --- the roll writer -------------------------------------------------------------------------


@dataclass
class RollWriter:
    """Builds a receipt line by line; also keeps the plain text lines (for tests and previews)."""

    profile: Profile
    out: bytearray = field(default_factory=bytearray)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.out += codes.INIT + codes.CHINESE_OFF
        # What the printer is set to after ESC @; commands are sent only when a line needs a change.
        self._align, self._size, self._bold = "left", "normal", False

    def _enc(self, text: str) -> bytes:
        return encode_text(text, four_byte=self.profile.four_byte)

    def _columns(self, size: str) -> int:
        width = (codes.SIZES[size] >> 4) + 1
        return self.profile.columns // width

    def _set(self, align: str, size: str, bold: bool) -> None:
        if align != self._align:
            self.out += codes.align(align)
            self._align = align
        if size != self._size:
            self.out += codes.size(size)
            self._size = size
        if bold != self._bold:
            self.out += codes.bold(bold)
            self._bold = bold

    def _styled(self, body: bytes, align: str, size: str, bold: bool) -> None:
        self._set(align, size, bold)
        self.out += body + codes.LF

    def _narrow(self, width: int, size: str) -> str:
        """A wide size that would wrap the line gives up its double width, keeping its height."""
        if width > self._columns(size) and codes.SIZES[size] >> 4:
            return _size_name(codes.SIZES[size] & 0x0F)
        return size

    def text(self, text: str, *, align: str = "left", size: str = "normal", bold: bool = False) -> None:
        size = self._narrow(display_width(text, four_byte=self.profile.four_byte), size)
        self._styled(self._enc(text), align, size, bold)
        self.lines.append(text)

    def pair(self, left: str, right: str, *, size: str = "normal", bold: bool = False) -> None:
        """Left text and right text on one line, padded to the paper width."""
        cols = self._columns(size)
        lw = display_width(left, four_byte=self.profile.four_byte)
        rw = display_width(right, four_byte=self.profile.four_byte)
        if not right:
            self.text(left, size=size, bold=bold)
            return
        size = self._narrow(lw + 1 + rw, size)
        cols = self._columns(size)
        if lw + 1 + rw > cols:
            self.text(left, size=size, bold=bold)
            self.text(right, align="right", size=size, bold=bold)
            return
        line = left + " " * (cols - lw - rw) + right
        self._styled(self._enc(line), "left", size, bold)
        self.lines.append(line)

    def rule(self, char: str = "-") -> None:
        line = char * self.profile.columns
        self._styled(self._enc(line), "left", "normal", False)
        self.lines.append(line)

    def qr(self, data: str, *, module: int = 6, ec: str = "M", align: str = "center") -> None:
        payload = data.encode("utf-8")
        self._set(align, "normal", False)
        if self.profile.qr == "native":
            self.out += codes.qr_native(payload, module, ec)
        else:
            try:
                w, h, rows = qr_raster(payload, module, ec)
            except RenderError as exc:
                raise TemplateError(exc.message, en=exc.en, code=exc.code) from exc
            self.out += codes.raster(w, h, rows)
        self.out += codes.LF

    def barcode(self, data: str, *, height: int = 56, module: int = 2, align: str = "center") -> None:
        try:
            cmd = codes.code128(data, height=height, module=module)
        except ValueError as exc:
            raise TemplateError("条码内容无法打印", en=f"cannot print {data!r} as Code128: {exc}") from exc
        self._set(align, "normal", False)
        self.out += cmd + codes.LF
        self.lines.append(data)

    def feed(self, n: int) -> None:
        self.out += codes.feed_lines(n)
        self.lines.extend([""] * n)

    def finish(self, cut: bool = True) -> bytes:
        self._set("left", "normal", False)
        if cut:
            self.out += codes.cut(self.profile.cut, self.profile.cut_feed)
        return bytes(self.out)


def _per_profile(value: Any, profile: Profile, default: Any) -> Any:
    if isinstance(value, dict):
        return value.get(profile.name, value.get("default", default))
    return default if value is None else value


def _wanted(item: dict, values: dict[str, str], profile: Profile) -> bool:
    if "profiles" in item and profile.name not in item["profiles"]:
        return False
    if item.get("enabled") is False:
        return False
    when = item.get("when")
    return not when or bool(values.get(when))


def _roll_ticket(template: dict, values: dict[str, str], profile: Profile) -> tuple[bytes, list[str]]:
    w = RollWriter(profile)
    for item in template["roll"]:
        if not _wanted(item, values, profile):
            continue
        size = item.get("size", "normal")
        bold = bool(item.get("bold", False))
        align = item.get("align", "left")
        if "rule" in item:
            w.rule(str(item["rule"] or "-")[:1])
        elif "qr" in item:
            w.qr(
                _fill(item["qr"], values),
                module=int(_per_profile(item.get("module"), profile, 6)),
                ec=item.get("ec", "M"),
                align=align,
            )
        elif "barcode" in item:
            data = _fill(item["barcode"], values)
            if data:
                w.barcode(
                    data, height=int(item.get("height", 56)), module=int(item.get("module", 2)), align=align
                )
        elif "feed" in item:
            w.feed(int(item["feed"]))
        elif "left" in item or "right" in item:
            w.pair(
                _fill(item.get("left", ""), values),
                _fill(item.get("right", ""), values),
                size=size,
                bold=bold,
            )
        elif "text" in item:
            w.text(_fill(item["text"], values), align=align, size=size, bold=bold)
    return w.finish(), w.lines


def _shrink(text: str, size: str, room_dots: int, profile: Profile) -> tuple[str, str]:
    """Fit text into a pre-printed box: narrower characters first (a long station name still
    prints whole), cut only as a last resort."""
    n = codes.SIZES[size]
    candidates = [n, n & 0x0F, 0] if n >> 4 else [n]
    for code in dict.fromkeys(candidates):
        cols = room_dots // (12 * ((code >> 4) + 1))
        if display_width(text, four_byte=profile.four_byte) <= cols:
            return _size_name(code), text
    return "normal", fit(text, max(0, room_dots // 12))


def _size_name(code: int) -> str:
    return next(name for name, value in codes.SIZES.items() if value == code)


def _preprinted_ticket(template: dict, values: dict[str, str], profile: Profile) -> tuple[bytes, list[str]]:
    pre = template.get("preprinted")
    if not pre:
        raise TemplateError("票面模板缺少套打版式", en="template has no preprinted layout")
    out = bytearray(codes.INIT + codes.CHINESE_OFF + codes.align("left"))
    lines: list[str] = []
    items = [it for it in pre["items"] if _wanted(it, values, profile)]
    # Rows in paper order: a line printer cannot go back up.
    rows: dict[int, list[dict]] = {}
    dx = round(profile.offset_x_mm * DOTS_PER_MM)
    dy = round(profile.offset_y_mm * DOTS_PER_MM)
    for it in items:
        rows.setdefault(max(round(float(it["y"]) * DOTS_PER_MM) + dy, 0), []).append(it)
    y = 0
    below = 0  # lowest dot the previous row reaches
    for row_y in sorted(rows):
        if row_y < below:
            raise TemplateError(
                "套打版式中两行重叠",
                en=f"preprinted row at {row_y / DOTS_PER_MM:g} mm overlaps the row above",
            )
        row = sorted(rows[row_y], key=lambda it: float(it["x"]))
        qrs = [it for it in row if "qr" in it]
        if qrs and len(row) > 1:
            raise TemplateError("套打版式中二维码须单独占行", en="a QR needs a row of its own on a line printer")
        out += codes.feed_dots(row_y - y)
        y = row_y
        if qrs:
            it = qrs[0]
            data = _fill(it["qr"], values).encode("utf-8")
            module = int(it.get("module", 4))
            ec = it.get("ec", "M")
            x = max(round(float(it["x"]) * DOTS_PER_MM) + dx, 0)
            out += codes.left_margin(x)
            if profile.qr == "native":
                out += codes.qr_native(data, module, ec)
            else:
                w, h, rows_bits = qr_raster(data, module, ec)
                out += codes.raster(w, h, rows_bits)
            out += codes.left_margin(0)
            size_dots = len(qr_matrix(data, ec)) * module
            y = row_y + size_dots
            below = y
            continue
        row_h = 0
        text_line = []
        for i, it in enumerate(row):
            x = max(round(float(it["x"]) * DOTS_PER_MM) + dx, 0)
            # The field may run up to the next field on the row, or the paper's edge.
            limit = (
                round(float(row[i + 1]["x"]) * DOTS_PER_MM) + dx - 8 if i + 1 < len(row) else profile.width_dots
            )
            text = _fill(it["text"], values).strip()
            size, text = _shrink(text, it.get("size", "normal"), limit - x, profile)
            mult_h = (codes.SIZES[size] & 0x0F) + 1
            bold = bool(it.get("bold", False))
            out += codes.position(x) + codes.size(size) + codes.bold(bold)
            out += encode_text(text, four_byte=profile.four_byte)
            out += codes.size("normal") + codes.bold(False)
            row_h = max(row_h, 24 * mult_h)
            text_line.append(text)
        lines.append(" ".join(text_line))
        below = row_y + row_h
    form = round(float(pre.get("form_length_mm", 100)) * DOTS_PER_MM) + dy
    if form < below:
        raise TemplateError("套打内容超出票面长度", en="preprinted items run past the form length")
    # The final feed prints the last row and brings the next form's top to the print line.
    out += codes.feed_dots(max(form - y, 1))
    out += codes.cut(profile.cut, profile.cut_feed)
    return bytes(out), lines


def render_ticket(
    fields: dict,
    profile: str | Profile = "80mm",
    *,
    template: dict | str | Path | None = None,
    **overrides: Any,
) -> bytes:
    """ESC/POS bytes of one ticket. ``overrides`` adjust the profile (``qr="image"``, ``cut=…``)."""
    return ticket_job(fields, profile, template=template, **overrides)[0]


def ticket_job(
    fields: dict,
    profile: str | Profile = "80mm",
    *,
    template: dict | str | Path | None = None,
    **overrides: Any,
) -> tuple[bytes, list[str]]:
    """The ticket's bytes and its printed text lines."""
    prof = get_profile(profile, **overrides)
    tpl = template if isinstance(template, dict) else load_template(template)
    if isinstance(template, dict):
        check_template(tpl)
    values = ticket_values(fields)
    if prof.layout == "preprinted":
        return _preprinted_ticket(tpl, values, prof)
    return _roll_ticket(tpl, values, prof)


# --- slips: road bill, settlement, test ticket -----------------------------------------------

Row = str | tuple | list | dict | None


def render_slip(
    title: str, rows: list[Row], profile: str | Profile = "80mm", *, subtitle: str = "", cut: bool = True
) -> bytes:
    """A simple text slip. Rows: ``"text"``, ``(left, right)``, ``None`` or ``{"rule": "-"}`` for
    a rule, ``{"text": …, "align": …, "size": …, "bold": …}``, ``{"pair": (left, right), "bold": …}``."""
    return _slip(title, rows, get_profile(profile), subtitle=subtitle, cut=cut)[0]


def _slip(title: str, rows: list[Row], profile: Profile, *, subtitle: str = "", cut: bool = True):
    if profile.layout != "roll":
        profile = replace(profile, layout="roll")  # slips go on plain roll paper
    w = RollWriter(profile)
    w.text(title, align="center", size="double", bold=True)
    if subtitle:
        w.text(subtitle, align="center")
    w.rule("=")
    for row in rows:
        if row is None:
            w.rule("-")
        elif isinstance(row, str):
            w.text(row)
        elif isinstance(row, (tuple, list)) and len(row) == 2:
            w.pair(str(row[0]), str(row[1]))
        elif isinstance(row, dict) and "rule" in row:
            w.rule(str(row["rule"] or "-")[:1])
        elif isinstance(row, dict) and "pair" in row:
            left, right = row["pair"]
            w.pair(str(left), str(right), size=row.get("size", "normal"), bold=bool(row.get("bold", False)))
        elif isinstance(row, dict) and "text" in row:
            w.text(
                str(row["text"]),
                align=row.get("align", "left"),
                size=row.get("size", "normal"),
                bold=bool(row.get("bold", False)),
            )
        else:
            raise TemplateError("单据行格式错误", en=f"bad slip row {row!r}")
    w.feed(1)
    return w.finish(cut), w.lines


def _rjust(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text


def _cols(count: str, amount: str) -> str:
    """The road bill's right-hand columns (count, amount), padded by display width."""
    return _rjust(count, 4) + _rjust(amount, 12)


def road_bill_rows(bill: dict) -> tuple[str, list[Row]]:
    """The road bill (路单) for one departure. Keys: station, bill_no, date, time, schedule_code,
    plate, driver, gate, checker, rows [{destination, ticket_type?, count, amount}]; optional route,
    vehicle_class, free_children, station_fee and agency_fee (fen), made_at, printed_at, reprint
    (the bill printed again on its own number: 补打), manifest [{name, doc_masked, seat_no,
    destination}] (masked documents only: a road bill never carries an ID number)."""
    try:
        rows: list[Row] = []
        if bill.get("reprint"):
            rows.append({"text": "【补打】", "align": "center", "bold": True})
        rows += [
            ("路单号", bill["bill_no"]),
            ("班次", f"{bill['schedule_code']}  {bill['date']} {bill['time']}"),
        ]
        if bill.get("route"):
            rows.append(("线路", bill["route"]))
        rows += [
            ("车牌", bill.get("plate", "")),
        ]
        if bill.get("vehicle_class"):
            rows.append(("车型", bill["vehicle_class"]))
        rows += [
            ("检票口", bill.get("gate", "")),
            None,
            {"pair": ("到站/票种", _cols("人数", "金额")), "bold": True},
        ]
        total_count = 0
        total_amount = 0
        for r in bill["rows"]:
            count = int(r["count"])
            amount = int(r["amount"])
            total_count += count
            total_amount += amount
            label = f"{r['destination']} {r['ticket_type']}" if r.get("ticket_type") else f"{r['destination']}"
            rows.append((label, _cols(str(count), money(amount))))
        rows.append(None)
        rows.append({"pair": ("合计", _cols(str(total_count), money(total_amount))), "bold": True})
        if bill.get("free_children"):
            rows.append(("其中免票儿童", f"{int(bill['free_children'])} 人"))
        fees = 0
        if bill.get("station_fee") is not None:
            rows.append(("站务费", money(int(bill["station_fee"]))))
            fees += int(bill["station_fee"])
        if bill.get("agency_fee"):
            rows.append(("代理费", money(int(bill["agency_fee"]))))
            fees += int(bill["agency_fee"])
        if bill.get("station_fee") is not None or bill.get("agency_fee"):
            rows.append({"pair": ("应付承运人", money(total_amount - fees)), "bold": True})
        manifest = bill.get("manifest") or []
        if manifest:
            rows += [None, {"text": "旅客名单", "bold": True}]
            for m in manifest:
                seat = f"{m['seat_no']}座" if m.get("seat_no") else "无座"
                rows.append((f"{seat} {m.get('name', '')}", f"{m.get('doc_masked', '')} {m.get('destination', '')}"))
        rows += [
            None,
            ("检票员", bill.get("checker", "")),
            ("驾驶员", bill.get("driver", "")),
        ]
        if bill.get("made_at"):
            rows.append(("制单时间", bill["made_at"]))
        rows += [
            "",
            "驾驶员签字：",
            "",
            "检票员签字：",
            "",
            "站务员签字：",
            "",
        ]
        if bill.get("printed_at"):
            rows.append(("打印时间", bill["printed_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(
            "路单数据不完整", en=f"road bill data incomplete: {exc!r}", code="PRINTER_BAD_FIELD"
        ) from exc
    return f"{bill.get('station', '')} 路单".strip(), rows


def render_road_bill(bill: dict, profile: str | Profile = "80mm") -> bytes:
    title, rows = road_bill_rows(bill)
    return render_slip(title, rows, profile)


def settlement_rows(s: dict) -> tuple[str, list[Row]]:
    """The shift settlement slip (交班结算单). Keys: clerk, shift_id, opened_at, closed_at,
    optional station, stock_from, stock_to, lines [[label, value]] (values: int fen are shown as
    money, anything else as text), amount_due (fen)."""
    try:
        rows: list[Row] = [
            ("售票员", s["clerk"]),
            ("班次", s["shift_id"]),
            ("开班", s["opened_at"]),
            ("交班", s["closed_at"]),
        ]
        if s.get("stock_from") or s.get("stock_to"):
            rows.append(("票号", f"{s.get('stock_from', '')}–{s.get('stock_to', '')}"))
        rows.append(None)
        for label, value in s.get("lines", []):
            shown = money(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)
            rows.append((str(label), shown))
        rows.append(None)
        rows.append({"text": f"应交款  {money(int(s['amount_due']))}", "size": "double_height", "bold": True})
        rows += ["", "售票员签字：", "", "收款人签字：", ""]
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(
            "交班结算数据不完整", en=f"settlement data incomplete: {exc!r}", code="PRINTER_BAD_FIELD"
        ) from exc
    return f"{s.get('station', '')} 交班结算单".strip(), rows


def render_settlement(settlement: dict, profile: str | Profile = "80mm") -> bytes:
    title, rows = settlement_rows(settlement)
    return render_slip(title, rows, profile)


def refund_rows(r: dict) -> tuple[str, list[Row]]:
    """The refund slip (退票凭证) handed to the passenger with the money. Keys: ticket_id, price,
    fee, total (fen), refunded_at, clerk; optional station, stock_no, passenger, passenger_doc, insurance,
    date, time, schedule_code, destination, ticket_type, tier, forced, approved_by, method,
    also_refunded (ticket ids of carried free children refunded with it)."""
    try:
        rows: list[Row] = [("票号", r["ticket_id"])]
        if r.get("stock_no"):
            rows.append(("纸票号", r["stock_no"]))
        if r.get("passenger"):
            rows.append(("乘客", f"{r['passenger']} {r.get('passenger_doc', '')}".strip()))
        if r.get("schedule_code"):
            rows.append(("车次", f"{r['schedule_code']}  {r.get('date', '')} {r.get('time', '')}".strip()))
        if r.get("destination"):
            rows.append(("到站", r["destination"]))
        if r.get("ticket_type"):
            rows.append(("票种", r["ticket_type"]))
        rows.append(None)
        rows.append(("票价", money(int(r["price"]))))
        fee_note = "强退免收" if r.get("forced") else str(r.get("tier", "") or "")
        rows.append(("退票手续费", f"{money(int(r['fee']))}" + (f"（{fee_note}）" if fee_note else "")))
        if r.get("insurance"):
            rows.append(("保险费（退还）", money(int(r["insurance"]))))
        if r.get("forced") and r.get("approved_by"):
            rows.append(("强退授权", r["approved_by"]))
        for child in r.get("also_refunded") or []:
            rows.append(("随同退票（携童）", child))
        if r.get("method"):
            rows.append(("退款方式", {"cash": "现金", "epay": "原路退回（电子支付）"}.get(r["method"], r["method"])))
        rows.append(None)
        rows.append({"text": f"实退金额  {money(int(r['total']))}", "size": "double_height", "bold": True})
        rows += [None, ("经办", r["clerk"]), ("退票时间", r["refunded_at"]), "", "乘客签字：", ""]
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(
            "退票凭证数据不完整", en=f"refund slip data incomplete: {exc}", code="PRINTER_BAD_FIELD"
        ) from exc
    return f"{r.get('station', '')} 退票凭证".strip(), rows


def render_refund_slip(refund: dict, profile: str | Profile = "80mm") -> bytes:
    title, rows = refund_rows(refund)
    return render_slip(title, rows, profile)


TEST_TICKET_FIELDS = {
    "station": "客站打印测试",
    "stock_no": "A0012345",
    "origin": "杭州汽车客运中心",
    "destination": "绍兴",
    "date": "2026-11-24",
    "time": "08:30",
    "schedule_code": "K1203",
    "seat": 12,
    "ticket_type": "全票",
    "price": 4550,
    "insurance": 200,
    "insurance_name": "乘意险",
    "vehicle_class": "大型高级",
    "gate": "3",
    "clerk": "S007",
    "passenger_name": "张三",
    "passenger_doc": "330102********0011",
    "ticket_id": "330102001-T01-000123",
    "sold_at": "2026-11-24 07:58",
    "notice": "测试票 「样张」—不作乘车凭证…",
    "ticket_code": "KZ1.330102001-T01-000123.TEST",
}


def render_test_ticket(profile: str | Profile = "80mm", **overrides: Any) -> bytes:
    """A ticket with every field filled, Chinese punctuation, ￥, QR, Code128 and a cut."""
    return render_ticket(TEST_TICKET_FIELDS, profile, **overrides)


CALIBRATION_MARK_MM = (20.0, 20.0)  # where the cross belongs on the form, from its top-left corner


def render_calibration_page(profile: str | Profile = "preprinted", **overrides: Any) -> bytes:
    """A page for lining the printer up with pre-printed stock: a cross meant to fall at
    :data:`CALIBRATION_MARK_MM` from the form's corner and a millimetre ruler on each axis. The
    technician measures how far the cross landed from the form's mark and enters that as the
    offsets; the profile's current offsets are applied, so a second page shows the correction."""
    prof = get_profile(profile, **overrides)
    mark_x, mark_y = CALIBRATION_MARK_MM
    x = max(round((mark_x + prof.offset_x_mm) * DOTS_PER_MM), 0)
    y = max(round((mark_y + prof.offset_y_mm) * DOTS_PER_MM), 0)
    out = bytearray(codes.INIT + codes.CHINESE_OFF + codes.align("left"))
    out += encode_text("CAL 0----5---10---15---20---25---30 mm\n")
    used = 24
    out += codes.feed_dots(max(y - used - 12, 1))
    out += codes.position(max(x - 12, 0)) + encode_text("|\n")
    out += codes.position(max(x - 36, 0)) + encode_text("--+--\n")
    out += codes.position(max(x - 12, 0)) + encode_text("|\n")
    out += encode_text(f"offset x {prof.offset_x_mm:+.1f} mm  y {prof.offset_y_mm:+.1f} mm\n")
    out += encode_text(f"cross at {mark_x:g},{mark_y:g} mm from the form corner\n")
    out += codes.feed_dots(48) + codes.cut(prof.cut, prof.cut_feed)
    return bytes(out)
