import json

import pytest

from app.demodata import generate_province
from app.demodata.__main__ import main

from .conftest import START


def test_writes_the_same_document_the_function_builds(tmp_path, capsys):
    out = tmp_path / "province.json"
    argv = [
        "--start-date",
        "2026-11-24",
        "--days",
        "2",
        "--departures-per-day",
        "60",
        "--destinations",
        "120",
        "--seed",
        "5",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == generate_province(
        start_date=START, days=2, departures_per_day=60, destinations=120, seed=5
    )
    assert "120 destinations" in capsys.readouterr().err


def test_a_bad_value_is_one_line_and_a_non_zero_exit(tmp_path, capsys):
    assert main(["--start-date", "2026-11-24", "--days", "0", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "days" in err and "Traceback" not in err


def test_a_missing_recipe_is_one_line(tmp_path, capsys):
    assert main(["--recipe", str(tmp_path / "none.json"), "--out", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_bad_date_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--start-date", "24.11.2026"])
    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
