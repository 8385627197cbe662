"""The road bill on the ESC/POS printer: committed first, printed after, and an out-of-paper printer
loses no number (the printer simulator over TCP)."""

from __future__ import annotations

from app.printing import print_road_bill, road_bill_bytes
from drivers.printer.simulator import PrinterSimulator
from tests.integration.services.gate_helpers import AT_GATE, Clock, make_gate, sell_one
from tests.integration.store.tiny_province import D_0800, ID_A, ID_B, NINGBO, SHAOXING


def _text(data: bytes) -> str:
    """The printed characters: GB18030 with the printer's Chinese-mode switches taken out."""
    return data.decode("gb18030", errors="replace").replace("\x1c&", "").replace("\x1c.", "")


def _stopped(db, terminal):
    gate = make_gate(db, terminal, Clock(AT_GATE))
    gate.open_check(D_0800, vehicle="浙A12345", driver="王师傅")
    for name, doc, stop in (("张三", ID_A, NINGBO), ("李四", ID_B, SHAOXING)):
        gate.check_text(sell_one(db, terminal, D_0800, stop, name, doc).ticket_code, D_0800)
    return gate, gate.stop_check(D_0800)


def test_the_road_bill_bytes_carry_its_rows_fees_and_signature_lines(db, terminal, shift, tmp_path):
    gate, bill = _stopped(db, terminal)
    [job] = gate.road_bill_jobs(D_0800, manifest=True)
    data = road_bill_bytes(job)
    text = _text(data)
    for words in ("路单", bill.number, "宁波 全票", "绍兴 全票", "站务费", "应付承运人", "浙A12345", "王师傅",
                  "驾驶员签字", "检票员签字", "旅客名单", "张三"):
        assert words in text, words
    assert "补打" not in text
    # The manifest shows the masked document, never the number.
    assert ID_A not in text and ID_B not in text and "**" in text.split("旅客名单")[1]
    printed = print_road_bill(job, tmp_path)
    assert printed.printer_ok and printed.png_path.endswith(".png")
    assert open(printed.png_path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    [again] = gate.road_bill_jobs(D_0800, reprint=True)
    assert "补打" in _text(road_bill_bytes(again))
    assert again.number == bill.number


def test_out_of_paper_keeps_the_bill_and_its_number_and_the_retry_prints_the_same_number(db, terminal, shift,
                                                                                        tmp_path):
    gate, bill = _stopped(db, terminal)
    with PrinterSimulator(tmp_path / "jobs") as sim:
        sim.set_condition("paper_out")
        [job] = gate.road_bill_jobs(D_0800)
        failed = print_road_bill(job, tmp_path / "out", target=sim.target)
        assert failed.printer_ok is False
        assert gate.unprinted_road_bills() == [bill.number]
        assert gate.road_bill(D_0800).number == bill.number

        sim.set_condition()
        [retry] = gate.road_bill_jobs(D_0800)
        done = print_road_bill(retry, tmp_path / "out", target=sim.target)
        assert done.printer_ok is True
        gate.mark_road_bill_printed(retry.number)
        (printed,) = sim.wait_for_jobs(1)
        assert bill.number.encode() in printed.data
    assert gate.unprinted_road_bills() == []
    assert retry.number == bill.number
