import pytest

from app import config
from app.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "kezhan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_gives_defaults(tmp_path):
    cfg = config.load(tmp_path / "absent.toml")
    assert cfg.station.timezone == "Asia/Shanghai"
    assert cfg.terminal.presale_days == 10


def test_round_trip_through_the_file(tmp_path):
    cfg = config.load(tmp_path / "k.toml")
    cfg.station.code = "330104001"
    cfg.terminal.id = "330104001-T01"
    cfg.printer.target = 'win:EPSON TM-T88 "counter"'
    config.save(cfg)
    again = config.load(tmp_path / "k.toml")
    assert again.station.code == "330104001"
    assert again.printer.target == 'win:EPSON TM-T88 "counter"'


@pytest.mark.parametrize(
    "text, words",
    [
        ("[station]\ntimezone = 'Mars/Olympus'\n", "unknown time zone"),
        ("[terminal]\npresale_days = 400\n", "presale_days"),
        ("[terminal]\npresale_days = 'ten'\n", "whole number"),
        ("[terminal]\nlanguage = 'fr'\n", "zh_CN or en"),
        ("[reader]\nbaud = 'fast'\n", "reader.baud"),
        ("[printer]\ncolour = 'red'\n", "unknown setting printer.colour"),
        ("[station\ncode = 1\n", "not a valid TOML file"),
        ("station = 3\n", "must be a table"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert words in str(err.value)
    assert str(path) in str(err.value)


def test_terminal_role_and_gates(tmp_path):
    cfg = config.load(tmp_path / "absent.toml")
    assert cfg.terminal.role == "window" and cfg.terminal.gates == []  # a ticket window, as before
    path = write(tmp_path, "[terminal]\nrole = 'both'\ngates = [1, \"2A\"]\n")
    cfg = config.load(path)
    assert cfg.terminal.role == "both" and cfg.terminal.gates == ["1", "2A"]
    config.save(cfg)
    again = config.load(path)
    assert again.terminal.role == "both" and again.terminal.gates == ["1", "2A"]
    with pytest.raises(ConfigError, match="terminal.role"):
        config.load(write(tmp_path, "[terminal]\nrole = 'kiosk'\n"))
    with pytest.raises(ConfigError, match="terminal.gates"):
        config.load(write(tmp_path, "[terminal]\ngates = 3\n"))
