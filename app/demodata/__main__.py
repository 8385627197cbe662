"""``python -m app.demodata``: write a province document to a file (or stdout).

Errors are one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date

from app.demodata.generator import generate_province


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.demodata", description="Generate a demo province document."
    )
    parser.add_argument(
        "--start-date", type=_date, default=None, help="first day (YYYY-MM-DD); default today"
    )
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--departures-per-day", type=int, default=120)
    parser.add_argument("--destinations", type=int, default=None, help="default: the recipe's real places")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--recipe", default=None, help="recipe file; default the shipped Zhejiang one")
    parser.add_argument("--out", default="-", help="output file; '-' for stdout")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        doc = generate_province(
            args.recipe,
            start_date=args.start_date or date.today(),
            days=args.days,
            departures_per_day=args.departures_per_day,
            destinations=args.destinations,
            seed=args.seed,
        )
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=None, separators=(",", ":"))
        if args.out == "-":
            sys.stdout.write(text + "\n")
        else:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"python -m app.demodata: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(doc['stations']) - 1} destinations, {len(doc['routes'])} routes, {len(doc['fares'])} fares, "
        f"{len(doc['departures'])} departures in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
