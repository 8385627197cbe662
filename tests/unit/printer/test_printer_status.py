"""DLE EOT replies → printer conditions; silence is never "ready"."""

from __future__ import annotations

import pytest

from drivers.printer.status import is_reply, parse_status

OK = 0x12  # every reply byte has bits 1 and 4 set, bits 0 and 7 clear


def test_all_clear_is_ready():
    st = parse_status(OK, OK, OK)
    assert st.answered and st.ready
    assert st.conditions == []
    assert st.message("en") == "ready"


def test_no_answer_is_not_ready_and_says_so():
    st = parse_status(None, None, None)
    assert not st.answered and not st.ready
    assert st.conditions == ["no_answer"]
    assert "did not answer" in st.message("en")
    assert st.message("zh") == "打印机无状态应答"


def test_bytes_that_are_not_status_replies_count_as_no_answer():
    assert not is_reply(0x00) and not is_reply(0xFF) and not is_reply(0x92)
    assert not parse_status(0x00, 0x00, 0x00).answered
    assert not parse_status(0xFF, OK, OK).answered


@pytest.mark.parametrize(
    "printer, offline, paper, error, conditions",
    [
        (OK | 0x08, OK | 0x20, OK | 0x6C, None, ["paper_out"]),  # paper out: offline, stopped at end
        (OK, OK, OK | 0x0C, None, ["paper_near_end"]),
        (OK | 0x08, OK | 0x04, OK, None, ["cover_open"]),
        (OK | 0x08, OK, OK, None, ["offline"]),
        (OK | 0x08, OK | 0x40, OK, OK | 0x08, ["cutter_error"]),
        (OK | 0x08, OK | 0x40, OK, OK | 0x20, ["unrecoverable_error"]),
        (OK | 0x08, OK | 0x40, OK, OK | 0x40, ["recoverable_error"]),
        (OK | 0x08, OK | 0x04, OK | 0x0C, None, ["cover_open", "paper_near_end"]),
    ],
)
def test_each_condition_is_classified(printer, offline, paper, error, conditions):
    st = parse_status(printer, offline, paper, error)
    assert st.answered
    assert st.conditions == conditions
    assert st.ready == (conditions == ["paper_near_end"])


def test_paper_near_end_is_still_ready_but_reported():
    st = parse_status(OK, OK, OK | 0x0C)
    assert st.ready and st.paper_near_end
    assert st.message("en") == "ready, paper near end"
    assert st.message("zh") == "打印机就绪，打印纸将尽"


def test_an_error_the_printer_does_not_explain_is_not_ready():
    st = parse_status(OK | 0x08, OK | 0x40, OK)
    assert not st.ready
    assert st.unrecoverable_error


def test_paper_sensor_alone_can_report_paper_out():
    st = parse_status(OK, None, OK | 0x60)
    assert st.paper_out and not st.ready


def test_to_dict_is_what_scripts_read():
    d = parse_status(OK | 0x08, OK | 0x20, OK | 0x6C).to_dict()
    assert d["ready"] is False and d["answered"] is True
    assert d["conditions"] == ["paper_out"]
    assert d["message_zh"] == "打印机缺纸"
    assert d["raw"] == {"1": 0x1A, "2": 0x32, "3": None, "4": 0x7E}
