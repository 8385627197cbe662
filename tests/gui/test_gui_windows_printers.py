"""Printers that cannot answer a status query — a Windows spooler queue (`win:`) off Windows or
without pywin32, a `file:` — show "status not available", are never polled, and still print; the
spooler's own flags are read where Windows can give them."""

from __future__ import annotations

import pytest

from tests.gui.conftest import (
    Keyboard,
    destination_with_departures,
    make_window,
    sign_in,
    typed_sale,
    valid_id,
)

pytestmark = pytest.mark.gui


def test_a_file_printer_is_status_not_available_and_prints(qtbot, backend, tmp_path, monkeypatch):
    from drivers.printer import transport

    asked: list = []
    monkeypatch.setattr(transport, "query_status", lambda *a, **k: asked.append(a) or None)
    out = tmp_path / "printer.bin"
    out.write_bytes(b"")
    window = make_window(qtbot, backend, printer_target=f"file:{out}")
    assert window.printer.state == "unavailable"
    window.refresh_status()
    assert window.printerLabel.text() == "打印机：状态不可用"
    keys = Keyboard(qtbot, window)
    sign_in(keys)
    _, initials = destination_with_departures(backend)
    typed_sale(keys, initials, valid_id(311))
    qtbot.waitUntil(lambda: out.stat().st_size > 500, timeout=10000)
    qtbot.wait(200)
    assert window.printer.state == "unavailable"  # not "offline" after the job either
    assert window.printerLabel.text() == "打印机：状态不可用"
    assert asked == []  # never asked: no status query opened the file
    window.close()


def test_the_spooler_flags_read_as_printer_states():
    from drivers.printer import spooler

    assert spooler.status_from_spooler(0).ready
    assert spooler.status_from_spooler(spooler.STATUS_PAPER_OUT).paper_out
    assert spooler.status_from_spooler(spooler.STATUS_OFFLINE).offline
    assert spooler.status_from_spooler(0, spooler.ATTRIBUTE_WORK_OFFLINE).offline
    assert spooler.status_from_spooler(spooler.STATUS_DOOR_OPEN).cover_open
    assert not spooler.status_from_spooler(spooler.STATUS_ERROR).ready
    if not spooler.available():
        assert spooler.spooler_status("EPSON TM-T88V Receipt") is None  # off Windows: no answer, no error
