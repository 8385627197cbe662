"""Pull by cursor: pages, resumption, scoping, tombstones, snapshots."""

from __future__ import annotations

from .conftest import SOON, TOMORROW, province_doc


def pull_all(t, cursor=None, limit=7):
    """Follow ``more`` to the end, as a terminal does; returns (changes, final cursor, first page)."""
    out, first = [], None
    for _ in range(500):  # a cursor that never advances must fail the test, not hang it
        q = f"/v1/changes?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = t.call("GET", q)
        assert r.status_code == 200, r.text
        page = r.json()
        first = first or page
        out += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return out, cursor, first
    raise AssertionError("the feed never ended")


def state(changes):
    s = {}
    for c in changes:
        if c["deleted"]:
            s.pop((c["kind"], c["key"]), None)
        else:
            s[(c["kind"], c["key"])] = c["data"]
    return s


def test_first_pull_is_a_snapshot_of_the_province(server):
    t = server.terminal()
    changes, cursor, first = pull_all(t)
    assert first["reset"] is True
    s = state(changes)
    assert s[("departure", TOMORROW)]["seats"] == 10
    assert s[("station", "330102001")]["name"] == "杭州客运中心"
    assert ("fare", "R1/330102001/330106001/ZG") in s
    assert s[("setting", "refund_policy")]["minimum_fee"] == 100
    assert s[("ticket_key", t.terminal_id)]["public_key"]
    # Nothing new: an empty page, same cursor, no reset.
    r = t.call("GET", f"/v1/changes?cursor={cursor}").json()
    assert (r["changes"], r["cursor"], r["reset"], r["more"]) == ([], cursor, False, False)


def test_cursor_resumes_where_it_stopped(server):
    t = server.terminal()
    _, cursor, _ = pull_all(t)
    server.post_admin(f"/v1/admin/departures/{SOON}/status", {"status": "delayed"})
    other = server.terminal()
    sale = other.sale(TOMORROW, 5)
    other.upload([sale])
    # A page of one, then the rest from the returned cursor: nothing lost, nothing repeated.
    r1 = t.call("GET", f"/v1/changes?cursor={cursor}&limit=1").json()
    assert r1["more"] is True and len(r1["changes"]) == 1
    rest, _, _ = pull_all(t, r1["cursor"])
    got = [(c["kind"], c["key"]) for c in r1["changes"] + rest]
    # The sale's gate row last: both terminals are of the departure's station.
    assert got == [("departure", SOON), ("ticket_key", other.terminal_id), ("seat", f"{TOMORROW}/5"),
                   ("gate_ticket", sale["payload"]["tickets"][0]["ticket_id"])]
    assert len({c["id"] for c in r1["changes"] + rest}) == len(got)
    assert (r1["changes"] + rest)[0]["data"]["status"] == "delayed"


def test_other_terminals_leases_and_conflicts_stay_private(server):
    a, b = server.terminal(), server.terminal()
    _, cursor_b, _ = pull_all(b)
    a.call("POST", "/v1/leases", {"want": [{"departure_id": TOMORROW, "seats": 2}]})
    b_sale = b.sale(TOMORROW, 1)
    b.upload([b_sale])  # seat 1 is a's lease: b gets a conflict
    a_changes, _, _ = pull_all(a)
    b_changes, _, _ = pull_all(b, cursor_b)
    assert ("lease", TOMORROW) in {(c["kind"], c["key"]) for c in a_changes}
    assert "lease" not in {c["kind"] for c in b_changes}
    assert "conflict" not in {c["kind"] for c in a_changes}
    assert [c["data"]["kind"] for c in b_changes if c["kind"] == "conflict"] == ["SEAT_LEASED"]


def test_removed_master_data_becomes_a_tombstone(server):
    t = server.terminal()
    _, cursor, _ = pull_all(t)
    doc = province_doc()
    doc["departures"] = [d for d in doc["departures"] if d["id"] != SOON]
    doc["fares"][0]["full_fare"] = 1600
    r = server.post_admin("/v1/admin/province", doc)
    assert r.json() == {"added": 0, "changed": 1, "removed": 1, "departures": 1}
    changes, _, _ = pull_all(t, cursor)
    assert {(c["kind"], c["key"], c["deleted"]) for c in changes} == {
        ("departure", SOON, True), ("fare", "R1/330102001/330104001/ZG", False)}
    # Importing the same document again publishes nothing.
    assert server.post_admin("/v1/admin/province", doc).json()["changed"] == 0


def test_too_old_cursor_gets_a_snapshot(server):
    t = server.terminal()
    _, old_cursor, _ = pull_all(t)
    doc = province_doc()
    doc["departures"] = [d for d in doc["departures"] if d["id"] != SOON]
    server.post_admin("/v1/admin/province", doc)
    t.upload([t.sale(TOMORROW, 3)])
    # Compaction forgets the tombstone once it is older than the retention.
    server.clock.advance(days=8)
    compacted = server.post_admin("/v1/admin/compact").json()
    assert compacted["tombstones_purged"] >= 1
    first = t.call("GET", f"/v1/changes?cursor={old_cursor}&limit=3").json()
    assert first["reset"] is True and "older" in first["reset_reason"]
    changes, cursor, _ = pull_all(t, first["cursor"])
    s = state(first["changes"] + changes)
    # The snapshot, applied from empty, is the current state: SOON is simply absent.
    assert ("departure", SOON) not in s and ("departure", TOMORROW) in s
    assert s[("seat", f"{TOMORROW}/3")]["terminal_id"] == t.terminal_id
    # From the snapshot's cursor on, pulls are incremental again.
    assert t.call("GET", f"/v1/changes?cursor={cursor}").json()["reset"] is False


def test_cursor_from_another_database_or_garbage_gets_a_snapshot(server):
    t = server.terminal()
    _, cursor, _ = pull_all(t)
    epoch, n = cursor.split(":")
    for bad, reason in ((f"deadbeef:{n}", "another server"), ("garbage", "unreadable"),
                        (f"{epoch}:{int(n) + 1000}", "ahead")):
        r = t.call("GET", f"/v1/changes?cursor={bad}").json()
        assert r["reset"] is True and reason in r["reset_reason"], (bad, r["reset_reason"])


def test_compaction_keeps_incremental_pulls_correct(server):
    t = server.terminal()
    _, cursor, _ = pull_all(t)
    for status in ("delayed", "boarding", "normal"):
        server.post_admin(f"/v1/admin/departures/{TOMORROW}/status", {"status": status})
    server.post_admin("/v1/admin/compact")
    r = t.call("GET", f"/v1/changes?cursor={cursor}").json()
    assert r["reset"] is False
    assert [(c["key"], c["data"]["status"]) for c in r["changes"]] == [(TOMORROW, "normal")]


def test_snapshot_pages_below_the_floor_continue_until_compaction_moves_it(server):
    t = server.terminal()
    doc = province_doc()
    doc["departures"] = [d for d in doc["departures"] if d["id"] != SOON]
    server.post_admin("/v1/admin/province", doc)
    server.clock.advance(days=8)
    floor = server.post_admin("/v1/admin/compact").json()["floor"]
    assert floor > 0
    first = t.call("GET", "/v1/changes?limit=2").json()
    assert first["reset"] and first["cursor"].endswith(f"@{floor}")  # a snapshot's own cursor
    second = t.call("GET", f"/v1/changes?cursor={first['cursor']}&limit=2").json()
    assert second["reset"] is False and second["changes"][0]["id"] > first["changes"][-1]["id"]
    # Another compaction drops another deletion: the half-read snapshot may have missed it.
    doc["stations"] = doc["stations"][:2]
    doc["fares"] = doc["fares"][:1]
    server.post_admin("/v1/admin/province", doc)
    server.clock.advance(days=8)
    assert server.post_admin("/v1/admin/compact").json()["floor"] > floor
    third = t.call("GET", f"/v1/changes?cursor={second['cursor']}&limit=2").json()
    assert third["reset"] is True and "interrupted" in third["reset_reason"]
