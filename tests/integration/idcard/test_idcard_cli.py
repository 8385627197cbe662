import json
import logging
import subprocess
import sys

import pytest

from app.cli import main
from drivers.idcard.simulator import ReaderSimulator

EXPECTED = {
    "resident": {
        "card_type": "resident", "name": "王小明", "sex": "男", "nation": "汉", "birth_date": "1990-03-07",
        "address": "北京市东城区南池子大街1号", "id_number": "110101199003070011",
        "authority": "北京市公安局东城分局", "valid_from": "2020-03-15", "valid_to": "2040-03-15",
        "number_valid": True,
    },
    "hmt": {
        "card_type": "hmt_residence", "name": "陈家明", "sex": "男", "nation": "", "birth_date": "1988-05-12",
        "address": "广东省深圳市福田区福华路88号", "id_number": "810000198805120016", "authority": "深圳市公安局",
        "valid_from": "2021-06-01", "valid_to": "2026-06-01", "number_valid": True,
        "pass_number": "H12345678", "issue_count": "01",
    },
    "foreign2017": {
        "card_type": "foreign_permanent_2017", "name": "史密斯", "sex": "男", "nation": "",
        "birth_date": "1985-07-17", "address": "", "id_number": "USA118507170011", "authority": "1100",
        "valid_from": "2017-09-01", "valid_to": "2027-09-01", "number_valid": True,
        "name_en": "SMITH, JOHN WILLIAM", "nationality": "USA", "card_version": "01", "authority_code": "1100",
    },
    "foreign2023": {
        "card_type": "foreign_permanent_2023", "name": "玛丽亚", "sex": "女", "nation": "",
        "birth_date": "1992-06-15", "address": "", "id_number": "911724199206150027", "authority": "国家移民管理局",
        "valid_from": "2023-06-01", "valid_to": "2033-06-01", "number_valid": True,
        "name_en": "GARCIA LOPEZ, MARIA ISABEL ALEJANDRA FE", "nationality": "ESP", "renewals": "00",
    },
}  # fmt: skip


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_read_prints_the_card_as_json(kind, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    with ReaderSimulator(kind, baud=38400) as sim:
        rc = main(["idcard", "read", "--port", sim.url, "--timeout", "2", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out) == EXPECTED[kind]
    # The number goes to the operator's screen, never to the log.
    assert EXPECTED[kind]["id_number"] not in caplog.text
    assert all(EXPECTED[kind]["id_number"] not in str(r.args) for r in caplog.records)


def test_read_prints_text_for_people(capsys):
    with ReaderSimulator("resident") as sim:
        rc = main(["idcard", "read", "--port", sim.url, "--baud", "115200", "--timeout", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "姓名: 王小明" in out and "民族: 汉" in out and "有效期止: 2040-03-15" in out


def test_read_with_long_term_card_file(tmp_path, capsys):
    card = dict(type="resident", name="李四", sex="2", nation="03", birth="19951231", address="上海市黄浦区",
                number="110101199512310028", authority="上海市公安局", valid_from="20151231", valid_to="长期")
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    with ReaderSimulator(str(path)) as sim:
        assert main(["idcard", "read", "--port", sim.url, "--timeout", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["valid_to"], data["nation"], data["sex"], data["number_valid"]) == ("长期", "回", "女", True)


def one_error_line(capsys) -> str:
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


def test_no_card_before_the_timeout(capsys):
    with ReaderSimulator() as sim:
        rc = main(["idcard", "read", "--port", sim.url, "--baud", "115200", "--timeout", "0.3"])
    assert rc == 5
    assert "未检测到证件" in one_error_line(capsys)


def test_no_reader_on_the_port(capsys):
    with ReaderSimulator("resident") as sim:
        sim.silent = True
        rc = main(["idcard", "read", "--port", sim.url, "--timeout", "1"])
    assert rc == 5
    assert "没有读卡器回应" in one_error_line(capsys)


def test_port_that_does_not_exist(capsys):
    assert main(["idcard", "read", "--port", "/dev/does-not-exist-kezhan", "--timeout", "1"]) == 5
    assert "/dev/does-not-exist-kezhan" in one_error_line(capsys)


def test_broken_reply(capsys):
    with ReaderSimulator("resident") as sim:
        sim.fault("checksum", command="read", count=10)
        rc = main(["idcard", "read", "--port", sim.url, "--baud", "115200", "--timeout", "1"])
    assert rc == 5
    assert "校验错误" in one_error_line(capsys)


def test_bad_baud_argument_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["idcard", "read", "--port", "COM3", "--baud", "fast"])
    assert info.value.code == 2


def test_ports_lists_serial_ports_as_json():
    # A subprocess: list_ports reads the system, and the output must be clean JSON on stdout.
    out = subprocess.run([sys.executable, "-m", "app", "idcard", "ports", "--json"], capture_output=True,
                         text=True, check=True)
    ports = json.loads(out.stdout)
    assert isinstance(ports, list)
    assert all({"device", "description"} <= set(p) for p in ports)
