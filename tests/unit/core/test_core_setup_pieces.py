"""The pieces under the set-up wizard: the TOML writer, the machine-wide data folder, the support
bundle's scrubbing, the pre-printed stock offsets."""

from __future__ import annotations

import json
import tomllib
import zipfile
from pathlib import Path

import pytest

from app import config, paths
from app.errors import ConfigError

NASTY = [
    'win:EPSON TM-T88 "counter"',
    "file:C:\\Users\\售票\\tickets.bin",
    "line one\nline two",
    "tab\there and a bell \x07 and DEL \x7f",
    "杭州汽车南站 ‘引号’ 「括号」 ￥",
    "trailing backslash \\",
    "'''triple''' \"\"\"quotes\"\"\"",
]


@pytest.mark.parametrize("value", NASTY)
def test_any_text_reads_back_as_it_was_written(tmp_path, value):
    cfg = config.load(tmp_path / "kezhan.toml")
    cfg.printer.target = value
    cfg.server.url = value
    cfg.terminal.gates = ["3", "4"]
    cfg.printer.offset_x_mm = -1.5
    config.save(cfg)
    raw = (tmp_path / "kezhan.toml").read_text(encoding="utf-8")
    tomllib.loads(raw)  # valid TOML for any other reader too
    again = config.load(tmp_path / "kezhan.toml")
    assert again.printer.target == value and again.server.url == value
    assert again.printer.offset_x_mm == -1.5 and again.gate_numbers == ["3", "4"]


def test_role_and_gates_are_checked(tmp_path):
    path = tmp_path / "kezhan.toml"
    path.write_text("[terminal]\nrole = 'kiosk'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="window, gate or both"):
        config.load(path)
    path.write_text("[terminal]\nrole = 'gate'\ngates = ['3', 3]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="listed twice"):
        config.load(path)
    path.write_text("[printer]\noffset_y_mm = 'up'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a number"):
        config.load(path)
    assert config.load(tmp_path / "absent.toml").terminal.role == "window"


def test_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "ProgramData" / "Kezhan"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        if paths.writable_problem(folder) is None:
            # Root writes through a read-only mode; /proc takes no new files from anyone.
            folder = Path("/proc/kezhan-read-only")
            assert paths.writable_problem(Path("/proc")) is not None
        with pytest.raises(ConfigError) as caught:
            config.save(config.Config(), folder / "kezhan.toml")
        assert caught.value.code == "CONFIG_UNWRITABLE" and "KEZHAN_HOME" in caught.value.en
    finally:
        (tmp_path / "ProgramData" / "Kezhan").chmod(0o755)


def test_windows_data_is_machine_wide_and_kezhan_home_overrides(monkeypatch, tmp_path):
    assert paths.default_data_dir("win32", {"PROGRAMDATA": r"D:\ProgramData"}) == Path(r"D:\ProgramData") / "Kezhan"
    assert paths.default_data_dir("win32", {}) == Path(r"C:\ProgramData") / "Kezhan"
    assert "Kezhan" not in str(paths.default_data_dir("linux", {}))
    # A PC set up per user before keeps that folder until ProgramData holds a configuration:
    # otherwise it would look new and be enrolled as a second terminal.
    old, machine = tmp_path / "old-user-folder", tmp_path / "ProgramData"
    old.mkdir()
    (old / "kezhan.toml").write_text("", encoding="utf-8")
    env = {"PROGRAMDATA": str(machine)}
    assert paths.default_data_dir("win32", env, legacy=old) == old
    (machine / "Kezhan").mkdir(parents=True)
    (machine / "Kezhan" / "kezhan.toml").write_text("", encoding="utf-8")
    assert paths.default_data_dir("win32", env, legacy=old) == machine / "Kezhan"
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "mine"))
    assert paths.data_dir() == tmp_path / "mine"


# --- the support bundle ----------------------------------------------------------------------------

REAL_LOOKING = ["11010119900307663X", "330106198512120016", "440301850101251"]


def test_the_scrubber_removes_id_numbers_and_known_names():
    from app.support import Scrubber

    scrub = Scrubber(names={"王小明", "欧阳娜娜"}, numbers={"E12345678"})
    text = ("sale 3301040010100000123 to 11010119900307663X (王小明), passport E12345678, "
            "permit H12345678, old id 440301850101251 for 欧阳娜娜; at 20261205T010203Z seat 12")
    out = scrub(text)
    for secret in ("11010119900307663X", "王小明", "E12345678", "H12345678", "440301850101251", "欧阳娜娜"):
        assert secret not in out
    # A ticket id (19 digits), a timestamp and a seat stay readable.
    assert "3301040010100000123" in out and "20261205T010203Z" in out and "seat 12" in out
    assert out.count("[ID]") == 4 and out.count("[NAME]") == 2


def test_the_bundle_holds_config_doctor_and_logs_without_ids(kezhan_home):
    import sqlite3

    from app.store.engine import open_database
    from app.support import export_bundle

    open_database(kezhan_home / "kezhan.sqlite3").engine.dispose()
    con = sqlite3.connect(kezhan_home / "kezhan.sqlite3")  # foreign keys off: a passenger without its sale
    con.execute("INSERT INTO passengers (ticket_id, name, doc_type, doc_masked, doc_number) "
                "VALUES ('T1', '司马相如', 'passport', 'E1****78', 'E87654321')")
    con.commit()
    con.close()
    logs = paths.log_dir()
    (logs / "kezhan.log").write_text(
        "\n".join(f"2026-12-05 INFO kezhan.sale sold to {n} 司马相如 passport E87654321" for n in REAL_LOOKING),
        encoding="utf-8")
    (logs / "kezhan.log.1").write_text("older 330106198512120016\n", encoding="utf-8")
    bundle = export_bundle(kezhan_home / "out")
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        assert {"kezhan.toml", "doctor.json", "logs/kezhan.log", "logs/kezhan.log.1"} <= names
        everything = "".join(z.read(n).decode("utf-8") for n in names)
        doctor = json.loads(z.read("doctor.json"))
    assert {c["name"] for c in doctor["checks"]} >= {"config", "database", "disk"}
    for secret in [*REAL_LOOKING, "司马相如", "E87654321"]:
        assert secret not in everything
    assert everything.count("[ID]") >= 7 and "[NAME]" in everything


# --- pre-printed stock --------------------------------------------------------------------------


def test_offsets_move_the_preprinted_ticket_and_the_calibration_cross():
    from drivers.printer.layout import TEST_TICKET_FIELDS, render_calibration_page, render_ticket
    from drivers.printer.render import render_image

    def ink_box(data):
        image = render_image(data).convert("L")
        image = image.crop((0, 0, image.width, image.height - 40))  # not the cut line across the paper
        inverted = image.point(lambda v: 255 - v)
        return inverted.getbbox()

    plain = ink_box(render_ticket(TEST_TICKET_FIELDS, "preprinted"))
    moved = ink_box(render_ticket(TEST_TICKET_FIELDS, "preprinted", offset_x_mm=2.0, offset_y_mm=3.0))
    assert moved[0] - plain[0] == 16 and moved[1] - plain[1] == 24  # 8 dots a mm
    cross = render_calibration_page(offset_x_mm=0.0)
    cross_moved = render_calibration_page(offset_x_mm=-1.0)
    assert cross != cross_moved
