"""`kezhan server issue-code` without --station: the code of the loaded province's home station (the
demo's, for a technician trying the installed package), or one line saying to give --station."""

from __future__ import annotations

import json


def test_issue_code_without_a_station_takes_the_province_home_station(tmp_path, capsys):
    from app.cli import main
    from sync.server import ProvinceServer
    from tests.gui.line_server import province_doc
    from tests.integration.line_province import HOME

    db = str(tmp_path / "server.sqlite3")
    server = ProvinceServer(db)
    try:
        server.import_province(province_doc())
    finally:
        server.close()
    assert main(["server", "issue-code", "--db", db, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["station"] == HOME and len(answer["code"]) == 14


def test_issue_code_without_a_station_on_a_server_without_a_province_says_to_give_one(tmp_path, capsys):
    from app.cli import main
    from sync.server import ProvinceServer

    db = str(tmp_path / "server.sqlite3")
    ProvinceServer(db).close()
    assert main(["server", "issue-code", "--db", db]) != 0
    err = capsys.readouterr().err
    assert "--station" in err and "Traceback" not in err
