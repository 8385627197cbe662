"""Printer target strings."""

from __future__ import annotations

import pytest

from drivers.printer import TargetError, parse_target


@pytest.mark.parametrize(
    "text, kind, fields, canonical",
    [
        ("usb:0x0416:0x5011", "usb", {"vendor_id": 0x0416, "product_id": 0x5011}, "usb:0x0416:0x5011"),
        ("USB:04b8:0e15", "usb", {"vendor_id": 0x04B8, "product_id": 0x0E15}, "usb:0x04b8:0x0e15"),
        ("serial:COM3", "serial", {"device": "COM3", "baudrate": 9600}, "serial:COM3@9600"),
        (
            "serial:/dev/ttyUSB0@115200",
            "serial",
            {"device": "/dev/ttyUSB0", "baudrate": 115200},
            "serial:/dev/ttyUSB0@115200",
        ),
        (
            "serial:socket://127.0.0.1:7000@19200",
            "serial",
            {"device": "socket://127.0.0.1:7000", "baudrate": 19200},
            "serial:socket://127.0.0.1:7000@19200",
        ),
        ("tcp:192.168.1.50", "tcp", {"host": "192.168.1.50", "port": 9100}, "tcp:192.168.1.50:9100"),
        ("tcp:printer.local:9101", "tcp", {"host": "printer.local", "port": 9101}, "tcp:printer.local:9101"),
        ("tcp:[::1]:9100", "tcp", {"host": "::1", "port": 9100}, "tcp:[::1]:9100"),
        ("win:XP-80C (copy 1)", "win", {"device": "XP-80C (copy 1)"}, "win:XP-80C (copy 1)"),
        (
            "file:C:\\tickets\\out.bin",
            "file",
            {"device": "C:\\tickets\\out.bin"},
            "file:C:\\tickets\\out.bin",
        ),
        ("file:/dev/usb/lp0", "file", {"device": "/dev/usb/lp0"}, "file:/dev/usb/lp0"),
        ("dummy", "dummy", {}, "dummy"),
    ],
)
def test_every_transport_parses(text, kind, fields, canonical):
    t = parse_target(text)
    assert t.kind == kind
    for key, value in fields.items():
        assert getattr(t, key) == value
    assert str(t) == canonical
    assert parse_target(str(t)) == t


@pytest.mark.parametrize(
    "text, hint",
    [
        ("", "empty"),
        ("lpt1", "unknown kind"),
        ("bluetooth:AA:BB", "unknown kind"),
        ("usb:0416", "usb:VID:PID"),
        ("usb:xyz:5011", "hex"),
        ("usb:0x10000:1", "hex"),
        ("serial:", "nothing after"),
        ("serial:COM3@fast", "baud"),
        ("serial:COM3@12", "baud"),
        ("tcp:", "nothing after"),
        ("tcp:host:0", "port"),
        ("tcp:host:99999", "port"),
        ("tcp:host:abc", "port"),
        ("tcp:fe80::1", "brackets"),
        ("tcp:[::1", "IPv6"),
        ("dummy:x", "no argument"),
    ],
)
def test_bad_targets_say_what_is_wrong(text, hint):
    with pytest.raises(TargetError) as err:
        parse_target(text)
    assert hint in err.value.en
    assert err.value.code == "PRINTER_BAD_TARGET"
    assert "打印机地址" in err.value.message


def test_only_wired_transports_can_answer_status():
    assert parse_target("tcp:h").can_answer
    assert parse_target("serial:COM1").can_answer
    assert parse_target("usb:1:2").can_answer
    assert not parse_target("win:P").can_answer
    assert not parse_target("file:x").can_answer
    assert not parse_target("dummy").can_answer
