"""``kezhan simulate``: many terminals selling at once against a provincial server, with link cuts.

    kezhan simulate --server URL --admin-token T [--terminals N] [--sales S] [--web-sales W]
                    [--offline-windows K] [--seed X] [--station CODE] [--stations K] [--pace SECONDS]
                    [--timeout SECONDS] [--json]

Each terminal is enrolled by the simulation itself (admin token → enrolment code), gets its own
database in a temporary folder and reaches the server through a TCP relay of its own that the
script cuts K times while the terminal goes on selling (from its leases). A web channel sells on the
server meanwhile. When every sale is made the links are restored and the simulation waits until every
queue is empty, then reports from both sides: what the terminals sold, what the server holds, what is
missing or duplicated, seats sold twice, the conflicts the server resolved (each must be a clerk task
on its terminal) and how long convergence took. Exit 0 when the invariants hold, 1 when not.
"""

from __future__ import annotations

import argparse

from app.commands.output import add_json_flag, emit


def register(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="simulate terminals and a web channel selling against a server")
    p.add_argument("--server", required=True, metavar="URL", help="the provincial server")
    p.add_argument("--admin-token", required=True, metavar="T", help="the server's admin token (enrols terminals)")
    p.add_argument("--terminals", type=_positive, default=3, metavar="N", help="terminals (default 3)")
    p.add_argument("--sales", type=_non_negative, default=30, metavar="S", help="sales per terminal (default 30)")
    p.add_argument("--web-sales", type=_non_negative, default=20, metavar="W", help="web channel sales (default 20)")
    p.add_argument("--offline-windows", type=_non_negative, default=2, metavar="K",
                   help="link cuts per terminal (default 2)")
    p.add_argument("--seed", type=int, default=1, metavar="X", help="random seed (default 1)")
    p.add_argument("--station", default=None, help="station the terminals belong to (default: the demo home station)")
    p.add_argument("--stations", type=_positive, default=1, metavar="K",
                   help="spread the terminals over K stations: --station and the next ones of the province "
                        "(default 1)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for convergence (default 120)")
    p.add_argument("--pace", type=_pace, default=0.01, metavar="SECONDS",
                   help="mean pause between one window's sales (default 0.01: as fast as the terminals go; "
                        "a quick clerk needs 15 s or more)")
    p.add_argument("--stale-map", type=float, default=None, metavar="SECONDS",
                   help="pull only every SECONDS and not after each sale (a seat map that old)")
    p.add_argument("--no-seat-confirm", action="store_true",
                   help="sell pool seats online without asking the server first (how terminals sold before the server confirmed them)")
    p.add_argument("--keep", action="store_true", help="keep the terminals' databases (prints the folder)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _pace(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _demo_home_station() -> str:
    from app.demodata import load_recipe

    spec = load_recipe()["home_station"]
    return f"{spec['county']}{int(spec['serial']):03d}"


def run(args) -> int:
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    from sync.client.simulation import Simulation

    folder = Path(tempfile.mkdtemp(prefix="kezhan-simulate-"))
    sim = Simulation(args.server, args.admin_token, folder, terminals=args.terminals, sales=args.sales,
                     web_sales=args.web_sales, offline_windows=args.offline_windows, seed=args.seed,
                     station=args.station or _demo_home_station(), timeout=args.timeout,
                     stations=args.stations, stale_map=args.stale_map, pace=args.pace,
                     confirm_seats=not args.no_seat_confirm)
    try:
        report = sim.run()
    finally:
        sim.close()
        if args.keep:
            print(f"terminal databases kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    emit(args, report, _text(report))
    return 0 if report["ok"] else 1


def _text(r: dict) -> str:
    lines = [
        f"terminals          {r['terminals']} ({r['offline_sales']} sale(s) made offline)",
        f"terminal sales     {r['terminal_sales']}",
        f"web sales          {r['web_sales']}",
        f"server tickets     {r['server_tickets']} {r['server_tickets_by_channel']}",
        f"missing            {len(r['missing'])}",
        f"duplicated         {len(r['duplicated'])}",
        f"double-sold seats  {len(r['double_sold_seats'])}",
        f"double-booked      {r['double_booked']} terminal sale(s) on a seat someone else held",
        f"conflicts          {r['conflicts']} {r['conflicts_by_kind'] or ''} "
        f"({len(r['conflicts_without_task'])} without a clerk task)",
        f"converged          {'yes' if r['converged'] else 'NO'} in {r['seconds_to_converge']:.2f} s "
        f"({r['backlog_when_links_returned']} event(s) queued when the links returned)",
        f"stations           {len(r['stations'])} {' '.join(r['stations'])}",
        f"pace               a sale every {r['pace_seconds']:g} s per window (mean)",
        f"events             {r['events']} in {r['seconds_under_load']:.2f} s under load: "
        f"{r['events_per_second'] or 0:,.0f} events/s",
        *_call_lines("upload", r["upload"]),
        *_call_lines("pull", r["pull"]),
        f"simulator CPU      {r['simulator_cpu_seconds']:.1f} s ({r['simulator_cpu_seconds_under_load']:.1f} s under load)",
        f"lease release      {r['seconds_releasing_leases']:.2f} s",
        "verdict            " + ("OK" if r["ok"] else "FAILED"),
    ]
    return "\n".join(lines)


def _call_lines(kind: str, f: dict) -> list[str]:
    """A call kind's figures under load, then apart while selling and while the backlogs drain."""
    def figures(x: dict) -> str:
        if not x["calls"]:
            return "no calls"
        return (f"{x['calls']} calls, p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms "
                f"(in the server: p50 {x['server_p50_ms']} ms, p99 {x['server_p99_ms']} ms)")

    return [f"{kind:<19}{figures(f)}",
            f"  while selling    {figures(f['selling'])}",
            f"  while draining   {figures(f['draining'])}"]
