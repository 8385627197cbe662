"""ESC/POS ticket printing: targets, GB18030 text, ticket layout, status, preview, simulator.

Imports nothing of the project; the app wraps :class:`PrinterError` into its own errors.
python-escpos, Pillow and qrcode are imported only when a transport is opened or a preview drawn.

    from drivers.printer import render_ticket, print_bytes, render_png
    data = render_ticket(fields, "80mm")             # fields: see docs/printing.md
    result = print_bytes("tcp:192.168.1.50", data)   # result.ok, result.status, result.reason
    render_png(data, "preview.png", width=576)
"""

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
