"""The sync benchmarks run end to end (small scale: the figures themselves come from `kezhan bench`)."""

from __future__ import annotations

from app.bench.sync import benchmarks, sync_initial_pull, sync_upload


def test_benchmarks_are_exposed_by_name():
    assert set(benchmarks()) == {"sync_upload", "sync_initial_pull"}


def test_sync_upload_drains_the_backlog_and_measures_a_baseline(tmp_path):
    figure = sync_upload(n=400, batch=100, workdir=tmp_path)
    assert figure.name == "sync_upload" and figure.unit == "events/s"
    assert figure.notes["applied"] == 400 and figure.notes["left_pending"] == 0
    assert figure.value > 0 and figure.baseline > 0 and figure.met is not None


def test_sync_initial_pull_pulls_a_station_and_measures_a_baseline(tmp_path):
    figure = sync_initial_pull(workdir=tmp_path, scale={"days": 2, "departures_per_day": 30, "destinations": 40})
    assert figure.name == "sync_initial_pull" and figure.unit == "rows/s"
    assert figure.n == figure.notes["feed_rows"] > 60
    assert figure.notes["seat_rows"] >= 60 * 30
    assert figure.value > 0 and figure.baseline > 0


def test_the_upload_baseline_inserts_every_row_the_upload_stores(tmp_path):
    """The ratio is only honest if the raw insert does the storage work the upload does: the same
    events, tickets and sold-seat feed rows, value for value."""
    import sqlite3

    from sync.server.core import _TICKET_COLUMNS

    sync_upload(n=300, batch=100, workdir=tmp_path)

    def rows(path):
        with sqlite3.connect(path) as conn:
            return {
                "events": conn.execute("SELECT seq, type, payload FROM events ORDER BY seq").fetchall(),
                "tickets": conn.execute(f"SELECT {', '.join(_TICKET_COLUMNS)} FROM tickets "
                                        "ORDER BY ticket_id").fetchall(),
                "seats": conn.execute("SELECT key, data FROM changes WHERE kind = 'seat' ORDER BY key").fetchall(),
            }

    uploaded = rows(tmp_path / "server.sqlite3")
    assert [len(v) for v in uploaded.values()] == [300, 300, 300]
    for i in range(3):
        assert rows(tmp_path / f"raw-server-{i}.sqlite3") == uploaded
