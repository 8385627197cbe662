"""ESC/POS ticket printing: targets, GB18030 text, ticket layout, status, preview, simulator.

Imports nothing of the project; the app wraps :class:`PrinterError` into its own errors.
python-escpos, Pillow and qrcode are imported only when a transport is opened or a preview drawn.

    from drivers.printer import render_ticket, print_bytes, render_png
    data = render_ticket(fields, "80mm")             # fields: see docs/printing.md
    result = print_bytes("tcp:192.168.1.50", data)   # result.ok, result.status, result.reason
    render_png(data, "preview.png", width=576)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.lazy_exports import lazy_getattr

# Loaded on first use: the counter window asks only for the parsing of its target before it shows.
_WHERE = {
    "encode": "drivers.printer.encoder",
    "encode_text": "drivers.printer.encoder",
    "FontNotFoundError": "drivers.printer.errors",
    "PrinterError": "drivers.printer.errors",
    "PrinterTimeout": "drivers.printer.errors",
    "RenderError": "drivers.printer.errors",
    "TargetError": "drivers.printer.errors",
    "TemplateError": "drivers.printer.errors",
    "PROFILES": "drivers.printer.layout",
    "TEST_TICKET_FIELDS": "drivers.printer.layout",
    "Profile": "drivers.printer.layout",
    "get_profile": "drivers.printer.layout",
    "load_template": "drivers.printer.layout",
    "render_road_bill": "drivers.printer.layout",
    "render_settlement": "drivers.printer.layout",
    "render_slip": "drivers.printer.layout",
    "render_test_ticket": "drivers.printer.layout",
    "render_ticket": "drivers.printer.layout",
    "ticket_job": "drivers.printer.layout",
    "render_image": "drivers.printer.render",
    "render_png": "drivers.printer.render",
    "PrinterSimulator": "drivers.printer.simulator",
    "PrinterStatus": "drivers.printer.status",
    "parse_status": "drivers.printer.status",
    "Target": "drivers.printer.targets",
    "parse_target": "drivers.printer.targets",
    "PrintResult": "drivers.printer.transport",
    "Transport": "drivers.printer.transport",
    "open_target": "drivers.printer.transport",
    "print_bytes": "drivers.printer.transport",
    "query_status": "drivers.printer.transport",
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())


if TYPE_CHECKING:
    from drivers.printer.encoder import encode, encode_text
    from drivers.printer.errors import (
        FontNotFoundError,
        PrinterError,
        PrinterTimeout,
        RenderError,
        TargetError,
        TemplateError,
    )
    from drivers.printer.layout import (
        PROFILES,
        TEST_TICKET_FIELDS,
        Profile,
        get_profile,
        load_template,
        render_road_bill,
        render_settlement,
        render_slip,
        render_test_ticket,
        render_ticket,
        ticket_job,
    )
    from drivers.printer.render import render_image, render_png
    from drivers.printer.simulator import PrinterSimulator
    from drivers.printer.status import PrinterStatus, parse_status
    from drivers.printer.targets import Target, parse_target
    from drivers.printer.transport import PrintResult, Transport, open_target, print_bytes, query_status


def print_ticket(
    target: str | Target, fields: dict, profile: str | Profile = "80mm", **kwargs
) -> PrintResult:
    """Lay out one ticket and print it; ``kwargs`` go to :func:`print_bytes`."""
    from drivers.printer.layout import render_ticket
    from drivers.printer.transport import print_bytes

    return print_bytes(target, render_ticket(fields, profile), **kwargs)


__all__ = [
    "FontNotFoundError",
    "PROFILES",
    "PrintResult",
    "PrinterError",
    "PrinterSimulator",
    "PrinterStatus",
    "PrinterTimeout",
    "Profile",
    "RenderError",
    "TEST_TICKET_FIELDS",
    "Target",
    "TargetError",
    "TemplateError",
    "Transport",
    "encode",
    "encode_text",
    "get_profile",
    "load_template",
    "open_target",
    "parse_status",
    "parse_target",
    "print_bytes",
    "print_ticket",
    "query_status",
    "render_image",
    "render_png",
    "render_road_bill",
    "render_settlement",
    "render_slip",
    "render_test_ticket",
    "render_ticket",
    "ticket_job",
]
